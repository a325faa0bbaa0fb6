import { InviteError } from '../errors.js';
import { formatJid, normalizeDomain, parseBareJid } from '../jid.js';
import type { Actor } from '../invites/actor.js';
import { revokeSourceInvites, type ContainmentDeps } from '../lineage/containment.js';
import type { AuditEntry } from '../ports/AdminAudit.js';
import type { ApiKey, ApiKeyStore } from '../ports/ApiKeyStore.js';
import type { Clock } from '../ports/Clock.js';
import { createApiKey, keySource, type CreateApiKeyInput } from './apiKeys.js';

/**
 * Managing API keys (#21): list, create, revoke; the one place of the rules,
 * for the console (lib/web/console/keys.ts) and the command line
 * (scripts/admin-cli.ts, whose actor holds every grant).
 *
 * No escalation: an admin key manages a key only when every domain of that
 * key is one of its own (a `*` key only by a `*` admin), and creates keys
 * only for its own domains and with no grant it lacks itself (reset, any
 * inviter or inviters outside its list, `*`). A quota-limited key manages
 * no key at all.
 */

export interface ManageKeysDeps {
  store: ApiKeyStore;
  clock: Clock;
  /** The domains a `*` key's invites are looked for on (the deployment's served domains). */
  domains: readonly string[];
  /** The invite table, for revoking a key's live invites with it. */
  invites: Pick<ContainmentDeps, 'store' | 'clock'>;
}

const hasAll = (actor: Actor): boolean => actor.domains.includes('*');

/** May this actor see and revoke this key? */
export const mayManageKey = (actor: Actor, key: Pick<ApiKey, 'domains'>): boolean =>
  actor.admin && (hasAll(actor) || (!key.domains.includes('*') && key.domains.every((d) => actor.domains.includes(d))));

const assertAdmin = (actor: Actor): void => {
  if (!actor.admin) throw new InviteError('forbidden', 'only an admin key manages keys');
};

/** The keys this actor may manage (revoked ones too), newest first. */
export const listKeys = async (deps: Pick<ManageKeysDeps, 'store'>, actor: Actor): Promise<ApiKey[]> => {
  assertAdmin(actor);
  return (await deps.store.list()).filter((k) => mayManageKey(actor, k)).sort((a, b) => b.createdAt - a.createdAt);
};

/** Refuses a new key that would hold more than its creator: a domain, `*`, the reset grant or an inviter it lacks. */
const assertNoEscalation = (actor: Actor, input: CreateApiKeyInput): void => {
  assertAdmin(actor);
  for (const raw of input.domains) {
    const domain = raw === '*' ? '*' : normalizeDomain(raw);
    if (domain === '*' ? !hasAll(actor) : !hasAll(actor) && !actor.domains.includes(domain)) {
      throw new InviteError('forbidden', `this key may not create keys for ${domain}`);
    }
  }
  if (input.allowReset && actor.allowReset !== true) {
    throw new InviteError('forbidden', 'this key may not grant reset invites: it has no such grant');
  }
  const granted = actor.inviters ?? 'any';
  if (granted === 'any') return;
  // A server's module issues invites for any user of its domains, each its inviter.
  if (input.kind === 'xmpp-server')
    throw new InviteError('forbidden', 'this key may not create a server key: it names only its listed inviters');
  // A new admin key without an inviter list names anyone (lib/apiKeys/apiKeys.ts).
  const wanted = input.inviters ?? (input.maxLiveInvites === undefined ? 'any' : []);
  if (wanted === 'any') throw new InviteError('forbidden', 'this key may not grant any inviter: it names only its listed inviters');
  const outside = wanted.find((jid) => !granted.includes(formatJid(parseBareJid(jid))));
  if (outside !== undefined) throw new InviteError('forbidden', `this key may not grant the inviter ${outside}`);
};

/** A new key (its secret returned once), within what the actor itself holds. */
export const createKey = async (deps: Pick<ManageKeysDeps, 'store' | 'clock'>, actor: Actor, input: Omit<CreateApiKeyInput, 'secret'>) => {
  assertNoEscalation(actor, input);
  return createApiKey(deps, input);
};

/**
 * Revokes a key the actor may manage (`key-not-found` when there is none,
 * `forbidden` when it is out of the actor's reach); with `revokeInvites`,
 * then every live invite it issued (its source, and its apps' sources for a
 * server's key) on its domains. The key is revoked first, so it issues
 * nothing while its invites go. Revoking a revoked key again changes nothing
 * but may still revoke its invites.
 */
export const revokeKey = async (
  deps: ManageKeysDeps,
  actor: Actor,
  id: string,
  options: { revokeInvites?: boolean } = {}
): Promise<{ key: ApiKey; revokedInvites: string[] }> => {
  assertAdmin(actor);
  const key = id === '' ? undefined : await deps.store.get(id);
  if (!key) throw new InviteError('key-not-found', `no API key ${id}`);
  if (!mayManageKey(actor, key)) throw new InviteError('forbidden', 'this key may not manage a key with domains outside its own');
  const now = deps.clock.now();
  if (!(await deps.store.revoke(key.id, now))) throw new InviteError('key-not-found', `no API key ${id}`);
  const revoked: ApiKey = { ...key, revokedAt: key.revokedAt ?? now };
  if (!options.revokeInvites) return { key: revoked, revokedInvites: [] };
  const domains = key.domains.includes('*') ? deps.domains : key.domains;
  return { key: revoked, revokedInvites: await revokeSourceInvites(deps.invites, keySource(key), domains) };
};

/**
 * The audit trail's entries of an action on a key: one per domain of the key
 * (the trail is read per domain, and each domain's admins see what was done
 * to keys acting on it), one under `*` for a `*` key (seen by `*` admins).
 * The subject is the key's name and its source (`api-key:<12>`), never its id.
 */
export const keyAuditEntries = (
  action: 'key.created' | 'key.revoked',
  key: Pick<ApiKey, 'id' | 'kind' | 'name' | 'domains'>,
  detail: Record<string, string | number | boolean> = {}
): Pick<AuditEntry, 'action' | 'domain' | 'subject' | 'detail'>[] =>
  [...new Set(key.domains)].map((domain) => ({
    action,
    domain,
    subject: `${key.name} (${keySource(key)})`,
    detail: { kind: key.kind, domains: key.domains.join(' '), ...detail },
  }));
