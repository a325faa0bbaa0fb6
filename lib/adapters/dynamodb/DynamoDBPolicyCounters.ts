import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { paginateQuery, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CounterBucket, PolicyCounterKey, PolicyCounters } from '../../ports/PolicyCounters.js';
import { documentClient } from './client.js';
import { NEW_ITEM } from './conditions.js';
import { brakeTripKey, policyBucketKey, SortKey } from './tableKeys.js';

/**
 * One item per subject and bucket (`ALLOW#<inviter>` / `BRAKE#<domain>`, sort
 * key `H#<start>`), changed with ADD (atomic across containers, no read
 * first) and removed by the table's TTL once its window is over. A window is
 * one Query over one partition.
 */
export class DynamoDBPolicyCounters implements PolicyCounters {
  readonly #table: string;
  readonly #db: DynamoDBDocumentClient;

  public constructor(options: { tableName: string; client?: DynamoDBDocumentClient }) {
    this.#table = options.tableName;
    this.#db = options.client ?? documentClient();
  }

  public async add(counter: PolicyCounterKey, start: number, delta: number, expiresAt: number): Promise<number> {
    const { Attributes } = await this.#db.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: policyBucketKey(counter.kind, counter.subject, start),
        UpdateExpression: 'ADD #count :delta SET expiresAt = if_not_exists(expiresAt, :expires), kind = if_not_exists(kind, :kind)',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: { ':delta': delta, ':expires': expiresAt, ':kind': counter.kind },
        ReturnValues: 'UPDATED_NEW',
      })
    );
    return Number(Attributes?.count ?? 0);
  }

  public async buckets(counter: PolicyCounterKey, from: number, to: number): Promise<CounterBucket[]> {
    const { pk, sk: fromKey } = policyBucketKey(counter.kind, counter.subject, from);
    const { sk: toKey } = policyBucketKey(counter.kind, counter.subject, to);
    const out: CounterBucket[] = [];
    const pages = paginateQuery(
      { client: this.#db },
      {
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': pk, ':from': fromKey, ':to': toKey },
        ProjectionExpression: 'sk, #count',
        ExpressionAttributeNames: { '#count': 'count' },
        ConsistentRead: true,
      }
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        out.push({ start: Number(String(item.sk).slice(SortKey.bucket.length)), count: Number(item.count ?? 0) });
      }
    }
    return out;
  }

  public async markBrakeTripped(
    domain: string,
    start: number,
    at: number,
    data: { limit: number; windowSeconds: number }
  ): Promise<boolean> {
    try {
      await this.#db.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...brakeTripKey(domain, start),
            kind: 'brake-trip',
            domain,
            windowStart: start,
            windowSeconds: data.windowSeconds,
            limit: data.limit,
            at,
            // Kept a day: long enough for the stream to deliver its event.
            expiresAt: start + data.windowSeconds + 86_400,
          },
          ConditionExpression: NEW_ITEM,
        })
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }
}
