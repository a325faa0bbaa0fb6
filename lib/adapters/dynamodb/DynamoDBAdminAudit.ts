import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { InviteError } from '../../errors.js';
import type { AdminAudit, AuditEntry, AuditPage } from '../../ports/AdminAudit.js';
import { documentClient } from './client.js';
import { adminAuditKey, KeyPrefix, SortKey } from './tableKeys.js';

/** How long an entry is kept (TTL): a year and a bit, enough to answer "who revoked this, last spring?". */
export const AUDIT_TRAIL_RETENTION_SECONDS = 400 * 24 * 3600;
const MAX_PAGE = 100;
const CURSOR = /^T#\d{13}#[A-Za-z0-9_-]{8}$/;

/** Milliseconds to sort by: now's, when the entry is of this second (two actions in a row stay in order), else the entry's second. */
const sortTime = (at: number): number => {
  const now = Date.now();
  return Math.floor(now / 1000) === at ? now : at * 1000;
};

/** AUDIT#<domain> / T#<ms>#<random>: one Query per page, newest first. */
export class DynamoDBAdminAudit implements AdminAudit {
  readonly #table: string;
  readonly #db: DynamoDBDocumentClient;

  public constructor(options: { tableName: string; client?: DynamoDBDocumentClient }) {
    this.#table = options.tableName;
    this.#db = options.client ?? documentClient();
  }

  public async record(entry: AuditEntry): Promise<void> {
    await this.#db.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          ...adminAuditKey(entry.domain, sortTime(entry.at), randomBytes(6).toString('base64url')),
          kind: 'admin-audit',
          entry,
          expiresAt: entry.at + AUDIT_TRAIL_RETENTION_SECONDS,
        },
      })
    );
  }

  public async list(domain: string, options: { limit?: number; cursor?: string } = {}): Promise<AuditPage> {
    if (options.cursor !== undefined && !CURSOR.test(options.cursor)) throw new InviteError('invalid-request', 'cursor is not valid');
    const pk = `${KeyPrefix.adminAudit}${domain}`;
    const out = await this.#db.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :t)',
        ExpressionAttributeValues: { ':pk': pk, ':t': SortKey.adminAudit },
        ScanIndexForward: false,
        Limit: Math.min(Math.max(options.limit ?? 50, 1), MAX_PAGE),
        ...(options.cursor ? { ExclusiveStartKey: { pk, sk: options.cursor } } : {}),
      })
    );
    const last = out.LastEvaluatedKey?.sk;
    return {
      items: (out.Items ?? []).map((i) => i.entry as AuditEntry),
      ...(typeof last === 'string' ? { cursor: last } : {}),
    };
  }
}
