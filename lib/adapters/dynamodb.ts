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

/** Table keys and indexes, shared by the adapters, infra and the local setup. */
export const TableSchema = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  byInviter: { name: 'byInviter', pk: 'gsi1pk', sk: 'gsi1sk' },
  byDomain: { name: 'byDomain', pk: 'gsi2pk', sk: 'gsi2sk' },
  /** Sparse: only invites of quota'd sources, sorted by expiry. */
  bySource: { name: 'bySource', pk: 'gsi3pk', sk: 'gsi3sk' },
} as const;
