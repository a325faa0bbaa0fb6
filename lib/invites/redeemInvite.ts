import type { Config } from '../config.js';
import { InviteError, isInviteError } from '../errors.js';
import { normalizeLocalpart } from '../jid.js';
import type { Clock } from '../ports/Clock.js';
import type { ClaimKind, ClaimRecord, InviteStore } from '../ports/InviteStore.js';
import type { ProvisionerRegistry, XmppProvisioner } from '../ports/XmppProvisioner.js';
import { hashToken, isWellFormedToken } from '../token.js';
import { inviteStatus, statusError, type Invite } from './Invite.js';
import { checkPassword, fingerprintMatches, passwordFingerprint } from './password.js';

export interface RedeemDeps {
  store: InviteStore;
  xmpp: ProvisionerRegistry;
  clock: Clock;
  config: Pick<Config, 'passwordMinLength' | 'usernameMaxLength'>;
}

export interface RedeemInput {
  username?: unknown;
  password?: unknown;
}

export interface RedeemResult {
  jid: string;
  /** `created` for account/contact invites, `reset` for password resets. */
  outcome: 'created' | 'reset';
  /** True when this answered a retry of an earlier request. */
  replayed: boolean;
  invite: Invite;
  /** Things that did not go as promised but did not fail the redemption. */
  warnings: string[];
}

/**
 * Redeem spans DynamoDB and the XMPP server, which share no transaction:
 * 1. validate everything before touching anything;
 * 2. claim (one transaction: take a use, lock the JID);
 * 3. provision (account, then roster both ways), each step idempotent;
 * 4. complete; or on a failure before the account exists, release the claim.
 * A retry of the same request (token + username + password) resumes a
 * pending claim or answers the completed result again.
 */
export const redeemInvite = async (deps: RedeemDeps, token: unknown, input: RedeemInput): Promise<RedeemResult> => {
  const { store, clock, config } = deps;
  if (!isWellFormedToken(token)) throw new InviteError('token-invalid', 'no such invite');
  const invite = await store.get(hashToken(token));
  if (!invite) throw new InviteError('token-invalid', 'no such invite');
  const status = inviteStatus(invite, clock.now());
  // A used-up invite may still be the one a retry completed: the claim decides.
  if (status === 'revoked' || status === 'expired') throw statusError(status);

  const username = chooseUsername(invite, input.username, config.usernameMaxLength);
  const password = checkPassword(input.password, username, { minLength: config.passwordMinLength });
  const jid = `${username}@${invite.domain}`;
  const kind: ClaimKind = invite.type === 'reset' ? 'reset' : 'account';
  const outcome = kind === 'reset' ? 'reset' : 'created';

  const claimed = await store.claim({ invite, jid, kind, now: clock.now(), fingerprint: passwordFingerprint(password) });
  let claim = claimed.claim;
  if (claimed.outcome === 'existing') {
    if (claim.status === 'completed') return { jid, outcome, replayed: true, invite, warnings: [] };
    if (!fingerprintMatches(password, claim.salt, claim.fingerprint)) {
      throw new InviteError('redemption-in-progress', `${jid} is being created with this invite by another request`);
    }
  }
  const resumed = claimed.outcome === 'existing';

  const xmpp = await deps.xmpp.forDomain(invite.domain).catch((cause: unknown) => {
    return releaseAndThrow(store, claim, kind, invite, cause);
  });
  if (!claim.accountCreated) {
    try {
      if (kind === 'reset') {
        await xmpp.setPassword(jid, password);
      } else {
        await createOrAdopt(xmpp, jid, password, resumed);
      }
    } catch (cause) {
      // A resumed claim meeting an existing account: the earlier attempt may
      // still be creating it, or may have died after creating it. Never adopt
      // it (see createOrAdopt) and never give a use back that may be taken.
      if (resumed && isInviteError(cause) && cause.code === 'username-taken') {
        throw new InviteError('redemption-in-progress', `${jid} is being created with this invite by another request`);
      }
      // Nothing exists yet on the server: give the use back.
      return releaseAndThrow(store, claim, kind, invite, cause);
    }
    await store.markAccountCreated(claim, kind);
    claim = { ...claim, accountCreated: true };
  }
  let warnings: string[] = [];
  if (kind === 'account' && invite.inviter) {
    // The account exists now: on failure keep the claim so a retry resumes here.
    try {
      await xmpp.linkRosters({ a: invite.inviter, b: jid, groups: invite.groups });
    } catch (e) {
      // An inviter deleted since the invite was issued cannot be linked; the
      // new account is still what the invite promised.
      if (!(isInviteError(e) && e.code === 'account-not-found')) throw e;
      warnings = [`the inviter ${invite.inviter} no longer exists; no contact was added`];
    }
  }
  await store.complete(claim, kind, clock.now());
  return { jid, outcome, replayed: resumed, invite, warnings };
};

const chooseUsername = (invite: Invite, raw: unknown, maxLength: number): string => {
  if (raw === undefined || raw === null || raw === '') {
    if (invite.username) return invite.username;
    throw new InviteError('username-invalid', 'username is required');
  }
  const username = normalizeLocalpart(raw, { maxLength });
  if (invite.username && invite.username !== username) {
    throw new InviteError('username-mismatch', `this invite is for the username ${invite.username}`);
  }
  return username;
};

/**
 * An account that already exists is never adopted, not even on a resumed
 * claim: the JID lock only orders redemptions through this service, it says
 * nothing about accounts made elsewhere. Adopting (setting this request's
 * password) let two concurrent redeems naming an existing user (`admin`)
 * take that account over. The price: if a Lambda died after creating the
 * account but before markAccountCreated, a retry answers
 * redemption-in-progress and the claim stays pending; the account exists
 * with the password its owner chose.
 */
const createOrAdopt = async (xmpp: XmppProvisioner, jid: string, password: string, _resumed: boolean) => {
  await xmpp.createAccount(jid, password);
};

const releaseAndThrow = async (
  store: InviteStore,
  claim: ClaimRecord,
  kind: ClaimKind,
  invite: Invite,
  cause: unknown
): Promise<never> => {
  await store.release(claim, kind, invite);
  throw cause;
};
