import { InviteError } from '../errors.js';
import type { LineageStore } from '../ports/LineageStore.js';

/** A suspended or deleted account issues no invite, on any route (API, signup webhook, app). */
export const assertMayInvite = async (
  lineage: Pick<LineageStore, 'get' | 'recordFirstSeen'>,
  inviter: string | undefined,
  policy: { depthLimit?: number; minAccountAgeSeconds?: number; now?: number } = {}
): Promise<void> => {
  if (inviter === undefined) return;
  // Suspending or deleting writes the record: only the record needs reading.
  let record = await lineage.get(inviter, { recordOnly: true });
  // With an age rule, an inviter without a record gets one the first time it is seen (nothing is written otherwise).
  if (record === undefined && policy.minAccountAgeSeconds !== undefined && policy.now !== undefined) {
    record = await lineage.recordFirstSeen(inviter, policy.now);
  }
  if (record?.status === 'suspended' || record?.status === 'deleted') {
    throw new InviteError('inviter-suspended', `${inviter} may not invite: the account is ${record.status}`);
  }
  // A new account waits before it may invite (MIN_ACCOUNT_AGE_TO_INVITE); an account this service did not make, from when it was first seen.
  if (policy.minAccountAgeSeconds !== undefined && policy.now !== undefined && record && record.joinedAt > 0) {
    const allowedAt = record.joinedAt + policy.minAccountAgeSeconds;
    if (policy.now < allowedAt) {
      const at = new Date(allowedAt * 1000).toISOString();
      throw new InviteError('quota-exceeded', `${inviter} joined too recently to invite; it may invite from ${at}`, {
        retryAfter: allowedAt - policy.now,
        details: { reason: 'account-age', nextAllowedAt: at },
      });
    }
  }
  if (policy.depthLimit !== undefined && record) {
    // Up the tree, one GetItem per generation, at most depthLimit + 1 of them.
    let depth = 0;
    for (let up = record.invitedBy; up !== null && depth <= policy.depthLimit; ) {
      depth++;
      up = (await lineage.get(up, { recordOnly: true }))?.invitedBy ?? null;
    }
    if (depth > policy.depthLimit) {
      throw new InviteError(
        'invite-depth-exceeded',
        `${inviter} is more than ${policy.depthLimit} invitation(s) below the root of its tree and may not invite`
      );
    }
  }
};
