/**
 * The floor of issue #14's cold-start target: the least a function of ours
 * could be, one DynamoDB GetItem with SDK v3's DocumentClient, the client made
 * at module scope. bench/lib/bundles.ts bundles it with the functions'
 * options and compares every function's import time with its.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';

const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = async (event: { pathParameters?: { token?: string } }) => {
  const out = await doc.send(
    new GetCommand({ TableName: process.env.INVITES_TABLE, Key: { pk: `INVITE#${event.pathParameters?.token}`, sk: 'INVITE' } })
  );
  return { statusCode: out.Item ? 200 : 404, body: JSON.stringify(out.Item ?? {}) };
};
