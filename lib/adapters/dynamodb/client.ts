import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * One client per container. The SDK reads AWS_ENDPOINT_URL_DYNAMODB, so the
 * same code talks to DynamoDB Local (tests, npm start) and to AWS.
 */
let shared: DynamoDBDocumentClient | undefined;

export const documentClient = (): DynamoDBDocumentClient =>
  (shared ??= DynamoDBDocumentClient.from(new DynamoDBClient({ maxAttempts: 3 }), {
    marshallOptions: { removeUndefinedValues: true },
  }));

export { TableSchema } from './tableKeys.js';
