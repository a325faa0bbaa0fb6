import { InviteError } from '../errors.js';
import type { Clock } from '../ports/Clock.js';
import type { InviteStore } from '../ports/InviteStore.js';
import { hashToken, isWellFormedToken } from '../token.js';
import { inviteStatus, statusError, type Invite } from './Invite.js';

export interface CheckDeps {
  store: InviteStore;
  clock: Clock;
}

/**
 * Validates a token without consuming it (Prosody's `get()`): returns the
 * live invite or throws `token-invalid|expired|used|revoked`.
 */
export const findLiveInvite = async ({ store, clock }: CheckDeps, token: unknown): Promise<Invite> => {
  if (!isWellFormedToken(token)) throw new InviteError('token-invalid', 'no such invite');
  const invite = await store.get(hashToken(token));
  if (!invite) throw new InviteError('token-invalid', 'no such invite');
  const status = inviteStatus(invite, clock.now());
  if (status !== 'valid') throw statusError(status);
  return invite;
};
