import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RateLimiter } from '../../ports/RateLimiter.js';
import { documentClient } from './client.js';
import { rateKey } from './tableKeys.js';

/** Counters outlive their window a little, then TTL removes them. */
const GRACE_SECONDS = 60;

/**
 * One item per key and window (`RATE#<key>#<windowStart>`), incremented with
 * ADD: atomic across containers, no read first, and gone after the window via
 * the table's TTL attribute.
 */
export class DynamoDBRateLimiter implements RateLimiter {
  readonly #table: string;
  readonly #db: DynamoDBDocumentClient;

  public constructor(options: { tableName: string; client?: DynamoDBDocumentClient }) {
    this.#table = options.tableName;
    this.#db = options.client ?? documentClient();
  }

  public async hit(keys: string[], windowStart: number, windowSeconds: number): Promise<number[]> {
    return Promise.all(
      keys.map(async (key) => {
        const { Attributes } = await this.#db.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: rateKey(key, windowStart),
            UpdateExpression: 'ADD #count :one SET expiresAt = if_not_exists(expiresAt, :expires), kind = if_not_exists(kind, :kind)',
            ExpressionAttributeNames: { '#count': 'count' },
            ExpressionAttributeValues: { ':one': 1, ':expires': windowStart + windowSeconds + GRACE_SECONDS, ':kind': 'rate' },
            ReturnValues: 'UPDATED_NEW',
          })
        );
        return Number(Attributes?.count ?? 0);
      })
    );
  }
}
