import { type CancellationReason, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Item } from './inviteItems.js';

const MAX_TRANSACTION_ATTEMPTS = 12;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

/** The cancellation reasons of a cancelled transaction, by item position; empty for any other error. */
export const cancellationReasons = (e: unknown): (CancellationReason | undefined)[] =>
  e instanceof TransactionCanceledException ? (e.CancellationReasons ?? []) : [];

/** The item a failed condition saw (ReturnValuesOnConditionCheckFailure: ALL_OLD). */
export const reasonItem = (reason: CancellationReason | undefined): Item | undefined =>
  reason?.Item ? unmarshall(reason.Item as never) : undefined;

/**
 * One transaction, retried (with jitter) while it only lost a race with a
 * parallel transaction on the same items: parallel claims on one invite do.
 * A failed condition is an answer, never retried: the caller reads it from
 * `cancellationReasons`.
 */
export const transact = async (db: DynamoDBDocumentClient, items: TransactItems) => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (e) {
      const reasons = cancellationReasons(e);
      const conflict = reasons.some((r) => r?.Code === 'TransactionConflict');
      const answered = reasons.some((r) => r?.Code === 'ConditionalCheckFailed');
      if (!conflict || answered || attempt >= MAX_TRANSACTION_ATTEMPTS) throw e;
      await sleep(Math.random() * 8 * attempt);
    }
  }
};
