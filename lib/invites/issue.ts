import type { Config } from '../config.js';
import { InviteError } from '../errors.js';
import { formatJid, normalizeLocalpart, parseBareJid, usernamePolicy } from '../jid.js';
import type { Clock } from '../ports/Clock.js';
import type { LineageStore } from '../ports/LineageStore.js';
import { assertMayInvite } from '../lineage/mayInvite.js';
import type { InviteStore } from '../ports/InviteStore.js';
import { generateToken, hashToken } from '../token.js';
import { assertDomainInScope, assertMayIssueReset, assertMayNameInviter, type Actor } from './actor.js';
import { InviteTypes, type Invite, type InviteType } from './Invite.js';
import type { InvitePolicy } from './policy.js';
import { issuedView } from './views.js';
import { servedDomain } from './domains.js';
import { assertNotReserved } from './limits.js';
import type { ProvisionerRegistry } from '../ports/XmppProvisioner.js';

export interface IssueInput {
  type?: InviteType;
  domain?: string;
  inviter?: string;
  username?: string;
  maxUses?: number | null;
  ttlSeconds?: number;
  groups?: string[];
  roles?: string[];
  note?: string;
}

export interface IssueDeps {
  store: InviteStore;
  clock: Clock;
  config: Pick<
    Config,
    'domains' | 'defaultDomain' | 'defaultTtlSeconds' | 'maxTtlSeconds' | 'baseUrl' | 'usernameMaxLength' | 'protectedJids'
  > &
    Partial<Pick<Config, 'usernameUnicode' | 'reservedUsernames' | 'inviteDepthLimit' | 'minAccountAgeToInvite'>>;
  /**
   * The domains' servers: an invite presetting the name of an account that
   * already exists is refused (`username-taken`). Without it, or when the
   * server cannot be asked, the invite is issued (and `warn` says why).
   */
  xmpp?: ProvisionerRegistry;
  warn?: (message: string, details: Record<string, unknown>) => void;
  /** Live invites an inviter may hold (non-admin actors); undefined = no quota. */
  quota?: { perInviter?: number };
  /** Where the token comes from; signed webhooks derive it from the event id so a replay gets the same invite. */
  newToken?: () => string;
  /** The invitation policy (lib/invites/policy.ts): the weekly allowance per inviter. */
  policy?: InvitePolicy;
  /**
   * Lineage records: a suspended or deleted inviter issues nothing (lib/lineage/containment.ts);
   * with MIN_ACCOUNT_AGE_TO_INVITE, an inviter without a record gets one when first seen.
   */
  lineage?: Pick<LineageStore, 'get' | 'recordFirstSeen'>;
}

const MAX_USES_LIMIT = 1_000_000;
const LABEL = /^[^\p{Cc}\p{Cf}\p{Co}\p{Cn}]{1,100}$/u;

const checkLabels = (name: string, values: unknown): string[] => {
  if (values === undefined) return [];
  if (!Array.isArray(values) || values.length > 20) {
    throw new InviteError('invalid-request', `${name} must be a list of at most 20 names`);
  }
  const out = values.map((v) => {
    // ejabberd's API takes groups as one ';'-separated string.
    if (typeof v !== 'string' || !LABEL.test(v) || v.trim() !== v || v.includes(';')) {
      throw new InviteError('invalid-request', `${name} entries must be 1-100 printable characters, without ';'`);
    }
    return v.normalize('NFC');
  });
  return [...new Set(out)];
};

/** The provisioning accounts and the configured protected JIDs can never be taken over by a reset invite. */
export const assertResettable = (config: Pick<Config, 'protectedJids'>, jid: string): void => {
  if (config.protectedJids.includes(jid)) {
    throw new InviteError('forbidden', `${jid} is protected: its password cannot be reset with an invite`);
  }
};

/**
 * Asks the domain's server whether the preset account exists. A server that
 * cannot be asked does not stop the invite (its redemption answers
 * `username-taken` as before): false, with a warning.
 */
const accountExists = async (deps: Pick<IssueDeps, 'xmpp' | 'warn'>, jid: string): Promise<boolean> => {
  if (!deps.xmpp) return false;
  try {
    return await (await deps.xmpp.forDomain(jid.slice(jid.lastIndexOf('@') + 1))).accountExists(jid);
  } catch (e) {
    deps.warn?.('could not ask the XMPP server whether a preset username exists; issuing anyway', {
      jid,
      reason: e instanceof Error ? e.message : String(e),
    });
    return false;
  }
};

export const issueInvite = async (deps: IssueDeps, actor: Actor, input: IssueInput) => {
  const { config, clock, store } = deps;
  const type = input.type ?? 'account';
  if (!InviteTypes.includes(type)) {
    throw new InviteError('invalid-request', `type must be one of ${InviteTypes.join(', ')}`);
  }
  const domain = servedDomain(config, input.domain);
  assertDomainInScope(actor, domain);

  let inviter: string | undefined;
  if (input.inviter !== undefined) {
    const jid = parseBareJid(input.inviter);
    // Roster pre-approval writes the inviter's roster on the same server.
    if (jid.domain !== domain) {
      throw new InviteError('jid-invalid', `the inviter must be an account on ${domain}`);
    }
    inviter = formatJid(jid);
    assertMayNameInviter(actor, inviter);
  }
  if (type === 'contact' && !inviter) {
    throw new InviteError('invalid-request', 'a contact invite needs an inviter');
  }

  const username = input.username === undefined ? undefined : normalizeLocalpart(input.username, usernamePolicy(config));
  if (type === 'reset') {
    assertMayIssueReset(actor);
    if (!username) throw new InviteError('username-required', 'a reset invite needs the username of the account to reset');
    assertResettable(config, `${username}@${domain}`);
  }
  // Role names: only an admin hands them out, explicitly (resets concern existing accounts, guarded by protectedJids).
  if (username && type !== 'reset' && !actor.admin) assertNotReserved(config, username);
  if (username && inviter === `${username}@${domain}`) {
    throw new InviteError('username-invalid', 'the preset username is the inviter itself');
  }

  const maxUses: number | null = input.maxUses === undefined ? 1 : input.maxUses;
  if (maxUses === null) {
    if (!actor.admin) throw new InviteError('max-uses-invalid', 'only admins may issue unlimited invites');
  } else if (!Number.isInteger(maxUses) || maxUses < 1 || maxUses > MAX_USES_LIMIT) {
    throw new InviteError('max-uses-invalid', `maxUses must be an integer from 1 to ${MAX_USES_LIMIT}, or null`);
  }
  if ((username || type === 'reset') && maxUses !== 1) {
    throw new InviteError('max-uses-invalid', 'an invite with a preset username can be used once');
  }

  const ttl = input.ttlSeconds ?? config.defaultTtlSeconds;
  if (!Number.isInteger(ttl) || ttl < 60 || ttl > config.maxTtlSeconds) {
    throw new InviteError('ttl-invalid', `ttlSeconds must be an integer from 60 to ${config.maxTtlSeconds}`);
  }
  if (input.note !== undefined && (typeof input.note !== 'string' || input.note.length > 1000)) {
    throw new InviteError('invalid-request', 'note must be a string of at most 1000 characters');
  }
  const groups = checkLabels('groups', input.groups);
  const roles = checkLabels('roles', input.roles);

  const now = clock.now();
  // A suspended or deleted inviter issues nothing, whoever asks (lineage containment).
  // The age and depth rules hold back users growing the tree, not the
  // operator: an admin key, or an inviter that is a provisioning account or
  // in PROTECTED_JIDS (what signup sources usually name), is exempt from them.
  if (deps.lineage) {
    const operator = actor.admin || (inviter !== undefined && config.protectedJids.includes(inviter));
    await assertMayInvite(
      deps.lineage,
      inviter,
      operator ? {} : { depthLimit: config.inviteDepthLimit, minAccountAgeSeconds: config.minAccountAgeToInvite, now }
    );
  }
  // Quotas (admins exempt), like ejabberd's max_invites. Count-then-write is
  // not atomic: parallel issues by one actor may overshoot by a few.
  const perSource = actor.admin ? undefined : actor.maxLiveInvites;
  const perInviter = !actor.admin && inviter ? deps.quota?.perInviter : undefined;
  const [bySource, byInviter, exists] = await Promise.all([
    perSource === undefined ? 0 : store.countLive({ source: actor.source }, now, perSource),
    perInviter === undefined ? 0 : store.countLive({ inviter }, now, perInviter),
    username && type !== 'reset' ? accountExists(deps, `${username}@${domain}`) : false,
  ]);
  if (exists) {
    throw new InviteError('username-taken', `${username}@${domain} already exists on the server`);
  }
  if (perSource !== undefined && bySource >= perSource) {
    throw new InviteError('quota-exceeded', `this API key already has ${bySource} live invites (at most ${perSource})`, {
      details: { live: bySource, limit: perSource },
    });
  }
  if (perInviter !== undefined && byInviter >= perInviter) {
    throw new InviteError('quota-exceeded', `${inviter} already has ${byInviter} live invites (at most ${perInviter})`, {
      details: { live: byInviter, limit: perInviter },
    });
  }

  await deps.policy?.chargeInvite(actor, { inviter });
  const token = deps.newToken?.() ?? generateToken();
  const invite: Invite = {
    id: hashToken(token),
    type,
    domain,
    inviter,
    username,
    maxUses,
    uses: 0,
    pending: 0,
    expiresAt: now + ttl,
    createdAt: now,
    groups,
    roles,
    note: input.note,
    source: actor.source,
  };
  await store.create(invite, now, { countBySource: perSource !== undefined });
  return {
    invite,
    token,
    view: issuedView(invite, token, config.baseUrl),
  };
};
