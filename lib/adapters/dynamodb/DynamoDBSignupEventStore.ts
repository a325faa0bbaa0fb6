import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { NEW_OR_EXPIRED } from './conditions.js';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SignupEventRecord, SignupEventStore } from '../../ports/SignupEventStore.js';
import { documentClient } from './client.js';
import { signupEventKey } from './tableKeys.js';

/** One item per delivery: HOOK#<source>#<sha256(event id)>/EVENT, TTL on expiresAt. */
const key = signupEventKey;

type Item = Record<string, unknown>;
const toRecord = (item: Item): SignupEventRecord => ({
  source: item.source as string,
  eventKey: item.eventKey as string,
  inviteId: item.inviteId as string,
  createdAt: Number(item.createdAt),
  expiresAt: Number(item.expiresAt),
});

export interface DynamoDBSignupEventStoreOptions {
  tableName: string;
  client?: DynamoDBDocumentClient;
}

export class DynamoDBSignupEventStore implements SignupEventStore {
  readonly #table: string;
  readonly #db: DynamoDBDocumentClient;

  public constructor(options: DynamoDBSignupEventStoreOptions) {
    this.#table = options.tableName;
    this.#db = options.client ?? documentClient();
  }

  public async get(source: string, eventKey: string, now: number): Promise<SignupEventRecord | undefined> {
    const { Item } = await this.#db.send(new GetCommand({ TableName: this.#table, Key: key(source, eventKey), ConsistentRead: true }));
    // TTL deletes late: an expired record is already forgotten.
    return Item && Number(Item.expiresAt) > now ? toRecord(Item) : undefined;
  }

  public async remember(record: SignupEventRecord, now: number): Promise<SignupEventRecord> {
    try {
      await this.#db.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...key(record.source, record.eventKey), kind: 'signup-event', ...record },
          // Allowed over: nothing, or a record past its expiry that TTL has not removed yet.
          ConditionExpression: NEW_OR_EXPIRED,
          ExpressionAttributeValues: { ':now': now },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        })
      );
      return record;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException && e.Item) {
        return toRecord(unmarshall(e.Item as never));
      }
      throw e;
    }
  }
}
