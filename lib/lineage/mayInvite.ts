import { InviteError } from '../errors.js';
import type { LineageStore } from '../ports/LineageStore.js';

/** A suspended or deleted account issues no invite, on any route (API, signup webhook, app). */
export const assertMayInvite = async (lineage: Pick<LineageStore, 'get'>, inviter: string | undefined): Promise<void> => {
  if (inviter === undefined) return;
  // Suspending or deleting writes the record: only the record needs reading.
  const record = await lineage.get(inviter, { recordOnly: true });
  if (record?.status === 'suspended' || record?.status === 'deleted') {
    throw new InviteError('inviter-suspended', `${inviter} may not invite: the account is ${record.status}`);
  }
};
