import type { Config } from '../config.js';
import { InviteError, isInviteError, wasNotSent } from '../errors.js';
import { LOCALPART_MAX_BYTES, normalizeLocalpart, usernamePolicy } from '../jid.js';
import type { Clock } from '../ports/Clock.js';
import type { ClaimKind, ClaimRecord, InviteStore } from '../ports/InviteStore.js';
import type { ProvisionerRegistry, XmppProvisioner } from '../ports/XmppProvisioner.js';
import { statusError, type Invite } from './Invite.js';
import { assertResettable } from './issue.js';
import { assertNotReserved } from './limits.js';
import { assertUncommonPassword, checkPassword, fingerprintMatches, isCommonPassword, passwordFingerprint } from './password.js';
import { inviteFound, lookupInvite } from './lookup.js';
import { assertInviteOfDomain } from './domains.js';
import { hashToken, isWellFormedToken } from '../token.js';
import { withRegistrationBrake, type InvitePolicy } from './policy.js';
import { type JoinedVia, newLineage } from '../lineage/Lineage.js';

/**
 * How long a claim belongs to the request that made it. Longer than the redeem
 * function's timeout (serverless.yml), so the holder is gone when it expires.
 */
export const CLAIM_LEASE_SECONDS = 30;

/** At most this many abandoned claims are examined (one XMPP call each) per request. */
export const STALE_CLAIMS_PER_REQUEST = 3;

export interface RedeemDeps {
  store: InviteStore;
  /** The XMPP servers, by domain (`xmpp` is always this registry; one server's is a `provisioner`). */
  xmpp: ProvisionerRegistry;
  clock: Clock;
  config: Pick<Config, 'passwordMinLength' | 'usernameMaxLength' | 'protectedJids'> &
    Partial<Pick<Config, 'usernameUnicode' | 'domains' | 'reservedUsernames'>>;
  /** The HMAC key of claim fingerprints (lib/invites/password.ts); a secret, never in the table. */
  claimKey: () => Promise<string>;
  /** The invitation policy (lib/invites/policy.ts): the registration brake, before the claim. */
  policy?: InvitePolicy;
}

export interface RedeemInput {
  username?: unknown;
  password?: unknown;
  /**
   * The domain the caller acts for (a server module): an invite of another
   * domain is no invite here, the same answer as an unknown token.
   */
  domain?: string;
  /** Where the account is being made, for its lineage record: the web form, an app (a server module), the API (default). */
  via?: JoinedVia;
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
 * 2. claim (one transaction: take a use, lock the JID); when the domain is
 *    known, before the invite is read, on the condition that the invite is
 *    what the request assumes (the read runs alongside);
 * 3. provision (account, then roster both ways), each step idempotent;
 * 4. complete; or on a failure before the account exists, release the claim.
 * A retry of the same request (token + username + password) resumes a
 * pending claim or answers the completed result again; the same name with
 * another password is `token-used`.
 *
 * `read`: the token's invite when the caller has read it already (the
 * landing form, to show the form); it is not read again. It may be stale:
 * the claim's conditions check the item itself, so a use, a revocation or an
 * expiry since the read still refuses the claim.
 */
export const redeemInvite = async (unbraked: RedeemDeps, token: unknown, input: RedeemInput, read?: Invite): Promise<RedeemResult> => {
  if (read !== undefined && (!isWellFormedToken(token) || read.id !== hashToken(token))) {
    throw new Error("redeem: the invite given is not the token's");
  }
  const deps = withRegistrationBrake(unbraked);
  const early = read ? { read: Promise.resolve(read) } : await claimBeforeReading(deps, token, input);
  const claimed = early && 'claim' in early ? early : await readThenClaim(deps, token, input, early?.read);
  return 'replayed' in claimed ? claimed : provisionAndComplete(deps, claimed, input.via ?? 'api');
};

/** A claim this request holds (its lease outlives a Lambda timeout), and what provisioning needs. */
interface HeldClaim {
  invite: Invite;
  claim: ClaimRecord;
  kind: ClaimKind;
  jid: string;
  password: string;
  outcome: RedeemResult['outcome'];
  resumed: boolean;
}

/** The invite read alongside a claim that was refused: the path below answers from it instead of reading again. */
interface EarlyRead {
  read: Promise<Invite | undefined>;
}

/**
 * The common case without the read in front of the claim: an account from a
 * valid request whose domain is known (the server module's, or the only one
 * served). The claim's transaction then also checks what was assumed of the
 * invite (claimUnread), and the invite is read while it runs. Anything else
 * (a reset or preset-only invite, an invalid request, a used, foreign or
 * unknown token, a taken name, a retry) claims nothing and takes the path
 * below, so its answers are the same.
 */
const claimBeforeReading = async (deps: RedeemDeps, token: unknown, input: RedeemInput): Promise<HeldClaim | EarlyRead | undefined> => {
  const { store, clock, config } = deps;
  const domain = input.domain ?? (config.domains?.length === 1 ? config.domains[0] : undefined);
  if (!store.claimUnread || domain === undefined || !isWellFormedToken(token)) return undefined;
  if (input.username === undefined || input.username === null || input.username === '') return undefined;
  let username: string;
  let password: string;
  try {
    username = normalizeLocalpart(input.username, usernamePolicy(config));
    password = checkPassword(input.password, username, { minLength: config.passwordMinLength });
    // Only an invite presetting it may take a reserved name: the invite decides.
    assertNotReserved(config, username);
  } catch {
    // Which error comes first is the invite's to say: the path below reads it.
    return undefined;
  }
  if (await isCommonPassword(password)) return undefined;
  const jid = `${username}@${domain}`;
  const id = hashToken(token);
  const key = await deps.claimKey();
  const now = clock.now();
  // Roster settings and the answer's invite, read while the claim runs.
  const reading = store.get(id);
  reading.catch(() => undefined);
  const claim = await store.claimUnread({
    inviteId: id,
    domain,
    username,
    jid,
    now,
    leaseSeconds: CLAIM_LEASE_SECONDS,
    fingerprint: passwordFingerprint(key, password),
  });
  // Refused, nothing written: the read saw the invite as the path below would.
  if (!claim) return { read: reading };
  // The claim proves the invite exists; a read of one issued a moment ago may not see it yet.
  const invite = (await reading.catch(() => undefined)) ?? (await store.get(id, { consistent: true }));
  // Unreachable (an invite is never deleted before it expires); the claim's lease then lets a retry resume.
  if (!invite) throw new Error('the invite of a claim could not be read');
  if (invite.username !== undefined && !isStorableUsername(invite.username)) {
    return releaseAndThrow(store, claim, 'account', invite, unstorablePreset());
  }
  return { invite, claim, kind: 'account', jid, password, outcome: 'created', resumed: false };
};

const readThenClaim = async (
  deps: RedeemDeps,
  token: unknown,
  input: RedeemInput,
  read?: Promise<Invite | undefined>
): Promise<HeldClaim | RedeemResult> => {
  const { store, clock, config } = deps;
  const { invite, status } = read ? inviteFound(await read, clock) : await lookupInvite(deps, token);
  if (input.domain !== undefined) assertInviteOfDomain(invite, input.domain);
  // A used-up invite may still be the one a retry completed: the claim decides.
  if (status === 'revoked' || status === 'expired') throw statusError(status);

  const username = chooseUsername(invite, input.username, config);
  const password = checkPassword(input.password, username, { minLength: config.passwordMinLength });
  await assertUncommonPassword(password);
  const jid = `${username}@${invite.domain}`;
  const kind: ClaimKind = invite.type === 'reset' ? 'reset' : 'account';
  const outcome = kind === 'reset' ? 'reset' : 'created';
  // Checked again here: the list may have grown since the invite was issued.
  if (kind === 'reset') assertResettable(config, jid);

  const key = await deps.claimKey();
  const now = clock.now();
  const request = { invite, jid, kind, now, leaseSeconds: CLAIM_LEASE_SECONDS, fingerprint: passwordFingerprint(key, password) };
  const claimed = await store.claim(request).catch(async (e: unknown) => {
    // Used up, perhaps only by claims whose requests died: free those and try once more.
    if (isInviteError(e) && e.code === 'token-used' && (await releaseStaleClaims(deps, invite.id)) > 0) {
      return store.claim(request);
    }
    throw e;
  });
  let claim = claimed.claim;
  const resumed = claimed.outcome === 'existing';
  if (resumed) {
    if (claim.status === 'completed') {
      // Only a retry of the same request (same password, by the claim's
      // fingerprint) is told it succeeded; anyone else holding the token is
      // told it is used, and nothing fires again.
      if (!fingerprintMatches(key, password, claim.salt, claim.fingerprint)) throw statusError('used');
      return { jid, outcome, replayed: true, invite, warnings: [] };
    }
    claim = await takeOver(store, claim, kind, { key, password }, jid, now);
  }
  return { invite, claim, kind, jid, password, outcome, resumed };
};

const provisionAndComplete = async (deps: RedeemDeps, held: HeldClaim, via: JoinedVia): Promise<RedeemResult> => {
  const { store, clock } = deps;
  const { invite, claim, kind, jid, password, outcome, resumed } = held;
  // From here this request alone holds the claim (its lease outlives a Lambda
  // timeout), so releasing it on failure can never undo a parallel success.
  const provisioner = await deps.xmpp.forDomain(invite.domain).catch((cause: unknown) => {
    return releaseAndThrow(store, claim, kind, invite, cause);
  });
  try {
    if (kind === 'reset') {
      await provisioner.setPassword(jid, password);
    } else {
      await createOrAdopt(provisioner, jid, password, resumed);
    }
  } catch (cause) {
    // Nothing of ours exists on the server: give the use back. When the
    // server may have acted before the failure (a lost reply), give it back
    // only once the server says the account is not there, or is someone
    // else's; otherwise the claim stays for the retry of this request.
    if (kind === 'account' && mayHaveActed(cause) && (await mayBeOurs(provisioner, jid, password))) throw cause;
    return releaseAndThrow(store, claim, kind, invite, cause);
  }
  let warnings: string[] = [];
  if (kind === 'account' && invite.inviter) {
    // The account exists now: on failure keep the claim so a retry resumes here.
    try {
      await provisioner.linkRosters({ a: invite.inviter, b: jid, groups: invite.groups, passwordOfB: password });
    } catch (e) {
      // An inviter deleted since the invite was issued cannot be linked; the
      // new account is still what the invite promised.
      if (!(isInviteError(e) && e.code === 'account-not-found')) throw e;
      warnings = [`the inviter ${invite.inviter} no longer exists; no contact was added`];
    }
  }
  const now = clock.now();
  // A new account's lineage record is written with the completion, never apart from it.
  await store.complete(claim, kind, now, kind === 'account' ? newLineage(jid, via, now, invite) : undefined);
  return { jid, outcome, replayed: resumed, invite, warnings };
};

/** A preset stored by an older release may not be what the server would create (`straße` became `strasse`). */
const isStorableUsername = (preset: string) => normalizeLocalpart(preset, { maxLength: LOCALPART_MAX_BYTES, rule: 'existing' }) === preset;

const unstorablePreset = () =>
  new InviteError(
    'username-invalid',
    'the username this invite was issued for is not one the XMPP server can create; ask for a new invite'
  );

const chooseUsername = (invite: Invite, raw: unknown, config: RedeemDeps['config']): string => {
  // Refuse such a preset rather than lock one JID and create another.
  if (invite.username && !isStorableUsername(invite.username)) throw unstorablePreset();
  if (raw === undefined || raw === null || raw === '') {
    if (invite.username) return invite.username;
    throw new InviteError('username-invalid', 'username is required');
  }
  const username = normalizeLocalpart(raw, usernamePolicy(config));
  if (invite.username && invite.username !== username) {
    throw new InviteError('username-mismatch', `this invite is for the username ${invite.username}`);
  }
  // A reserved name only through an invite an admin issued for it.
  if (!invite.username) assertNotReserved(config, username);
  return username;
};

/**
 * A resumed claim may find the account already there: the attempt it took
 * over may have created it just before dying. The JID was locked by this
 * invite all along, but an account can also be made outside this service, so
 * it is adopted only if it accepts this request's password (the same one, by
 * the claim's fingerprint). Anything else is someone else's account: it is
 * never touched, and the claim is released.
 */
const createOrAdopt = async (provisioner: XmppProvisioner, jid: string, password: string, resumed: boolean) => {
  try {
    await provisioner.createAccount(jid, password);
  } catch (e) {
    if (resumed && isInviteError(e) && e.code === 'username-taken' && (await provisioner.verifyPassword(jid, password))) return;
    throw e;
  }
};

/**
 * A pending claim is resumed only by a retry of the same request (same
 * password) and only once its lease has run out, that is once the attempt
 * holding it cannot still be running; then one retry takes the lease over.
 */
const takeOver = async (
  store: InviteStore,
  claim: ClaimRecord,
  kind: ClaimKind,
  { key, password }: { key: string; password: string },
  jid: string,
  now: number
) => {
  if (!fingerprintMatches(key, password, claim.salt, claim.fingerprint)) {
    throw new InviteError('redemption-in-progress', `${jid} is being created with this invite by another request`);
  }
  const busy = () =>
    new InviteError('redemption-in-progress', `${jid} is being created by an earlier request; retry shortly`, {
      retryAfter: Math.max(1, (claim.leaseUntil ?? now) - now),
    });
  if (claim.leaseUntil !== undefined && claim.leaseUntil > now) throw busy();
  const taken = await store.renewLease(claim, kind, now, CLAIM_LEASE_SECONDS);
  if (!taken) throw busy();
  return taken;
};

/**
 * Claims whose lease ran out belong to requests that died. Where no account
 * exists for such a claim, nothing was created: its use is given back. Where
 * the account exists, the use was spent and the claim stays for its owner's
 * retry. Returns how many uses came back.
 *
 * Anyone holding the token gets here, so the work is bounded (at most
 * STALE_CLAIMS_PER_REQUEST claims, one XMPP call each), and a stranger never
 * takes a lease: the release is conditional on the lease it saw, so an
 * owner's retry that took the claim over in the meantime always wins.
 */
export const releaseStaleClaims = async (deps: Pick<RedeemDeps, 'store' | 'xmpp' | 'clock'>, inviteId: string): Promise<number> => {
  const invite = await deps.store.get(inviteId);
  if (!invite || invite.pending === 0 || invite.type === 'reset') return 0;
  let released = 0;
  let examined = 0;
  for (const jid of invite.pendingJids ?? []) {
    if (examined >= STALE_CLAIMS_PER_REQUEST) break;
    const now = deps.clock.now();
    const claim = await deps.store.getClaim('account', jid, invite.id);
    if (claim?.status !== 'pending' || (claim.leaseUntil !== undefined && claim.leaseUntil > now)) continue;
    examined++;
    const provisioner = await deps.xmpp.forDomain(invite.domain);
    if (await provisioner.accountExists(jid)) continue;
    if (await deps.store.release(claim, 'account', invite, { onlyIfLeaseUnchanged: true })) released++;
  }
  return released;
};

/** A refusal the server answered is definite; a timeout or a dropped connection may hide a success. */
const mayHaveActed = (cause: unknown): boolean => !wasNotSent(cause) && (!isInviteError(cause) || cause.code === 'xmpp-unavailable');

/**
 * After a failure that may hide a success: could the account be the one this
 * request made? Not when the server says there is no such account, nor when
 * the account there refuses this request's password (someone else's, made
 * outside this service). When the server cannot answer, it could.
 */
const mayBeOurs = async (provisioner: XmppProvisioner, jid: string, password: string): Promise<boolean> => {
  try {
    return (await provisioner.accountExists(jid)) && (await provisioner.verifyPassword(jid, password));
  } catch {
    return true;
  }
};

const releaseAndThrow = async (store: InviteStore, claim: ClaimRecord, kind: ClaimKind, invite: Invite, cause: unknown): Promise<never> => {
  await store.release(claim, kind, invite);
  throw cause;
};
