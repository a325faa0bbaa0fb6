import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ContainmentEvent, ContainmentEvents } from '../../ports/ContainmentEvents.js';
import { documentClient } from './client.js';
import { noticeKey } from './tableKeys.js';

/** Long enough for the stream (24 h retention) to have delivered it. */
const NOTICE_RETENTION_SECONDS = 7 * 24 * 3600;

/**
 * A containment event as a NOTE#<id> item: its stream INSERT becomes the
 * signed webhook event (lib/adapters/dynamodb/inviteStreamRecords.ts), on the
 * same path, retries and dead letters as the invite events.
 */
export class DynamoDBContainmentEvents implements ContainmentEvents {
  readonly #table: string;
  readonly #db: DynamoDBDocumentClient;

  public constructor(options: { tableName: string; client?: DynamoDBDocumentClient }) {
    this.#table = options.tableName;
    this.#db = options.client ?? documentClient();
  }

  public async emit(event: ContainmentEvent): Promise<void> {
    await this.#db.send(
      new PutCommand({
        TableName: this.#table,
        Item: { ...noticeKey(randomUUID()), kind: 'notice', event, expiresAt: event.at + NOTICE_RETENTION_SECONDS },
      })
    );
  }
}
