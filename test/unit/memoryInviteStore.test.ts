/**
 * The in-memory double of the invite table (test/support/memoryInviteStore.ts)
 * passes the same contract as the DynamoDB adapter on DynamoDB Local
 * (test/integration/inviteStore.contract.test.ts).
 */
import { inviteStoreContract } from '../support/inviteStoreContract.js';
import { MemoryInviteStore } from '../support/memoryInviteStore.js';

inviteStoreContract('in-memory double', () => {
  const store = new MemoryInviteStore();
  return { store, locks: store.registrationLocks(), lineageOf: (jid) => store.lineageRecord(jid) };
});
