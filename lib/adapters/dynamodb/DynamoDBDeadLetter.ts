import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DeadLetter, DeadLetterEntry } from '../../ports/DeadLetter.js';
import { documentClient } from './client.js';
import { deadLetterKey } from './tableKeys.js';

export { deadLetterKey };

/** Dead letters kept this long locally, then TTL removes them. */
const RETENTION_SECONDS = 14 * 24 * 3600;

export interface DynamoDBDeadLetterOptions {
  tableName: string;
  client?: DynamoDBDocumentClient;
  now?: () => number;
}

/**
 * Local and development stand-in for the SQS queue (there is no SQS on the
 * laptop): dead letters as items DLQ#<event id>/ENDPOINT#<name> in the
 * invites table, with a TTL. The cloud uses SqsDeadLetter.
 */
export class DynamoDBDeadLetter implements DeadLetter {
  readonly #table: string;
  readonly #db: DynamoDBDocumentClient;
  readonly #now: () => number;

  public constructor(options: DynamoDBDeadLetterOptions) {
    this.#table = options.tableName;
    this.#db = options.client ?? documentClient();
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  public async put(entry: DeadLetterEntry): Promise<void> {
    await this.#db.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          ...deadLetterKey(entry.event.id, entry.endpoint),
          ...entry,
          kind: 'dead-letter',
          letter: entry.kind,
          expiresAt: this.#now() + RETENTION_SECONDS,
        },
      })
    );
  }

  public async get(eventId: string, endpoint: string): Promise<DeadLetterEntry | undefined> {
    const { Item } = await this.#db.send(
      new GetCommand({ TableName: this.#table, Key: deadLetterKey(eventId, endpoint), ConsistentRead: true })
    );
    if (!Item) return undefined;
    const { pk: _pk, sk: _sk, expiresAt: _e, letter, ...rest } = Item;
    return { ...rest, kind: letter } as DeadLetterEntry;
  }
}
