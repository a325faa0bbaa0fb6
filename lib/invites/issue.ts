import type { Config } from '../config.js';
import { InviteError } from '../errors.js';
import { formatJid, normalizeDomain, normalizeLocalpart, parseBareJid, usernamePolicy } from '../jid.js';
import type { Clock } from '../ports/Clock.js';
import type { LineageStore } from '../ports/LineageStore.js';
import { assertMayInvite } from '../lineage/mayInvite.js';
import type { InviteStore } from '../ports/InviteStore.js';
import { generateToken, hashToken } from '../token.js';
import { assertDomainInScope, assertMayIssueReset, assertMayNameInviter, type Actor } from './actor.js';
import { InviteTypes, type Invite, type InviteType } from './Invite.js';
import { issuedView } from './views.js';

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
    Partial<Pick<Config, 'usernameUnicode' | 'inviteDepthLimit' | 'invitesPerInviterPerWeek' | 'minAccountAgeToInvite'>>;
  /** Live invites an inviter may hold (non-admin actors); undefined = no quota. */
  quota?: { perInviter?: number };
  /** Where the token comes from; signed webhooks derive it from the event id so a replay gets the same invite. */
  newToken?: () => string;
  /** Lineage records: a suspended or deleted inviter issues nothing (lib/lineage/containment.ts). */
  lineage?: Pick<LineageStore, 'get'>;
}

const MAX_USES_LIMIT = 1_000_000;
const WEEK_SECONDS = 7 * 24 * 3600;
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

export const issueInvite = async (deps: IssueDeps, actor: Actor, input: IssueInput) => {
  const { config, clock, store } = deps;
  const type = input.type ?? 'account';
  if (!InviteTypes.includes(type)) {
    throw new InviteError('invalid-request', `type must be one of ${InviteTypes.join(', ')}`);
  }
  const domain = input.domain === undefined ? config.defaultDomain : normalizeDomain(input.domain);
  if (!config.domains.includes(domain)) {
    throw new InviteError('domain-not-served', `this service does not issue invites for ${domain}`);
  }
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
  if (deps.lineage) {
    await assertMayInvite(deps.lineage, inviter, {
      depthLimit: config.inviteDepthLimit,
      minAccountAgeSeconds: config.minAccountAgeToInvite,
      now,
    });
  }
  // The allowance over time per inviter (INVITES_PER_INVITER_PER_WEEK; admins exempt), on every route alike.
  const weekly = !actor.admin && inviter ? config.invitesPerInviterPerWeek : undefined;
  if (weekly !== undefined && inviter && store.issuedSince) {
    const { count, oldest } = await store.issuedSince(inviter, now - WEEK_SECONDS, weekly);
    if (count >= weekly) {
      const next = (oldest ?? now) + WEEK_SECONDS;
      throw new InviteError(
        'quota-exceeded',
        `${inviter} was named on ${count} invites in the last 7 days (at most ${weekly}); the next is allowed at ${new Date(next * 1000).toISOString()}`,
        {
          retryAfter: Math.max(1, next - now),
          details: { issued: count, limit: weekly, nextAllowedAt: new Date(next * 1000).toISOString() },
        }
      );
    }
  }
  // Quotas (admins exempt), like ejabberd's max_invites. Count-then-write is
  // not atomic: parallel issues by one actor may overshoot by a few.
  const perSource = actor.admin ? undefined : actor.maxLiveInvites;
  const perInviter = !actor.admin && inviter ? deps.quota?.perInviter : undefined;
  const [bySource, byInviter] = await Promise.all([
    perSource === undefined ? 0 : store.countLive({ source: actor.source }, now, perSource),
    perInviter === undefined ? 0 : store.countLive({ inviter }, now, perInviter),
  ]);
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
