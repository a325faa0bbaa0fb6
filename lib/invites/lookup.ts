import { InviteError } from '../errors.js';
import type { Clock } from '../ports/Clock.js';
import type { InviteStore } from '../ports/InviteStore.js';
import { hashToken, isWellFormedToken } from '../token.js';
import { inviteStatus, statusError, type Invite, type InviteStatus } from './Invite.js';

export interface CheckDeps {
  store: InviteStore;
  clock: Clock;
}

/**
 * The one way a token is read (check, redeem, the landing page, the server
 * module): its invite and that invite's status now, or `token-invalid`. A
 * malformed token never reaches the store.
 */
export const lookupInvite = async ({ store, clock }: CheckDeps, token: unknown): Promise<{ invite: Invite; status: InviteStatus }> => {
  if (!isWellFormedToken(token)) throw new InviteError('token-invalid', 'no such invite');
  return inviteFound(await store.get(hashToken(token)), clock);
};

/** What a read of a well-formed token's invite says: the invite and its status now, or `token-invalid`. */
export const inviteFound = (invite: Invite | undefined, clock: Clock): { invite: Invite; status: InviteStatus } => {
  if (!invite) throw new InviteError('token-invalid', 'no such invite');
  return { invite, status: inviteStatus(invite, clock.now()) };
};

/**
 * Validates a token without consuming it (Prosody's `get()`): returns the
 * live invite or throws `token-invalid|expired|used|revoked`.
 */
export const findLiveInvite = async (deps: CheckDeps, token: unknown): Promise<Invite> => {
  const { invite, status } = await lookupInvite(deps, token);
  if (status !== 'valid') throw statusError(status);
  return invite;
};
