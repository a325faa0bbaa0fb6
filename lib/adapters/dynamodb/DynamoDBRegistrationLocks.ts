import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { InviteError } from '../../errors.js';
import type { RegistrationLocks } from '../../ports/RegistrationLocks.js';
import { documentClient } from './client.js';
import { NAME_FREE, REGISTRATION_HELD, lockValues } from './conditions.js';
import { accountLockKey } from './tableKeys.js';
import type { LineageRecord } from '../../lineage/Lineage.js';
import { lineagePut } from './lineageItems.js';
import { transact } from './transactions.js';

/**
 * The lock is the JID#<jid>/ACCOUNT item that reservations and redemption
 * claims use (DynamoDBInviteStore). A pending registration expires with its
 * lease (a Lambda that died frees the name); a completed one has no
 * expiresAt and holds the name for good.
 */
export class DynamoDBRegistrationLocks implements RegistrationLocks {
  readonly #table: string;
  readonly #db: DynamoDBDocumentClient;

  public constructor(options: { tableName: string; client?: DynamoDBDocumentClient }) {
    this.#table = options.tableName;
    this.#db = options.client ?? documentClient();
  }

  public async lock(jid: string, now: number, leaseSeconds: number): Promise<string> {
    const lockToken = randomBytes(12).toString('base64url');
    try {
      await this.#db.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...accountLockKey(jid), kind: 'registration', jid, lockToken, createdAt: now, expiresAt: now + leaseSeconds },
          ConditionExpression: NAME_FREE,
          ExpressionAttributeValues: lockValues(now),
        })
      );
      return lockToken;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) {
        throw new InviteError('username-taken', `${jid} is reserved or taken`);
      }
      throw e;
    }
  }

  public async complete(jid: string, lockToken: string, now: number, lineage?: LineageRecord): Promise<void> {
    const update = {
      TableName: this.#table,
      Key: accountLockKey(jid),
      UpdateExpression: 'SET #status = :completed, completedAt = :now REMOVE expiresAt, lockToken',
      ConditionExpression: REGISTRATION_HELD,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':completed': 'completed', ':now': now, ':registration': 'registration', ':token': lockToken },
    };
    if (!lineage) {
      await this.#db.send(new UpdateCommand(update));
      return;
    }
    // The account's lineage record, in the same transaction as the lock that makes the name its own.
    await transact(this.#db, [{ Update: update }, lineagePut(this.#table, lineage)]);
  }

  public async release(jid: string, lockToken: string): Promise<void> {
    try {
      await this.#db.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: accountLockKey(jid),
          ConditionExpression: REGISTRATION_HELD,
          ExpressionAttributeValues: { ':registration': 'registration', ':token': lockToken },
        })
      );
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
    }
  }
}
