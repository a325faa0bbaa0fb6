/**
 * The DynamoDB adapter on DynamoDB Local holds the InviteStore contract
 * (test/support/inviteStoreContract.ts), the one the in-memory double of the
 * unit tests passes too (test/unit/memoryInviteStore.test.ts).
 */
import { DynamoDBInviteStore } from '../../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { DynamoDBLineageStore } from '../../lib/adapters/dynamodb/DynamoDBLineageStore.js';
import { DynamoDBRegistrationLocks } from '../../lib/adapters/dynamodb/DynamoDBRegistrationLocks.js';
import { inviteStoreContract } from '../support/inviteStoreContract.js';
import { documentClientForStack, stack } from '../support/stack.js';

inviteStoreContract('DynamoDB Local', () => {
  const options = { tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() };
  const lineage = new DynamoDBLineageStore(options);
  return {
    store: new DynamoDBInviteStore(options),
    locks: new DynamoDBRegistrationLocks(options),
    lineageOf: (jid) => lineage.get(jid, { recordOnly: true }),
  };
});
