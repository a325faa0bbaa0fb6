import { describe, expect, it } from 'vitest';
import { authenticate, createApiKey, keySource } from '../../lib/apiKeys/apiKeys.js';
import { createKey, keyAuditEntries, listKeys, mayManageKey, revokeKey } from '../../lib/apiKeys/manageKeys.js';
import { loadConfig } from '../../lib/config.js';
import type { ErrorCode } from '../../lib/errors.js';
import type { Actor } from '../../lib/invites/actor.js';
import { issueInvite } from '../../lib/invites/issue.js';
import type { ApiKey, ApiKeyStore } from '../../lib/ports/ApiKeyStore.js';
import { MemoryInviteStore } from '../support/memoryInviteStore.js';

/** Key management's rules (#21): who may list, create and revoke which keys; no escalation. */

/** The key store as DynamoDBApiKeyStore behaves: put refuses an existing id, list is oldest first, revoke is idempotent. */
class MemoryApiKeyStore implements ApiKeyStore {
  readonly keys = new Map<string, ApiKey>();
  async put(key: ApiKey) {
    if (this.keys.has(key.id)) throw new Error('exists');
    this.keys.set(key.id, { ...key });
  }
  async get(id: string) {
    const k = this.keys.get(id);
    return k && { ...k };
  }
  async list() {
    return [...this.keys.values()].sort((a, b) => a.createdAt - b.createdAt).map((k) => ({ ...k }));
  }
  async revoke(id: string, now: number) {
    const k = this.keys.get(id);
    if (!k) return false;
    k.revokedAt ??= now;
    return true;
  }
}

const T0 = 1_700_000_000;
const config = loadConfig({
  XMPP_DOMAIN: 'a.example',
  INVITES_DOMAINS: 'a.example,b.example',
  XMPP_ADMIN_JID: 'invitebot@a.example',
  XMPP_ADMIN_PASSWORD: 'local-only',
});

const world = () => {
  const store = new MemoryApiKeyStore();
  const invites = new MemoryInviteStore();
  const clock = { t: T0, now: () => clock.t };
  const deps = { store, clock, domains: config.domains, invites: { store: invites, clock } };
  /** A key in the store, and the actor its secret authenticates as. */
  const key = async (name: string, input: Partial<Parameters<typeof createApiKey>[1]> = {}) => {
    clock.t += 1;
    const made = await createApiKey({ store, clock }, { name, domains: ['a.example'], ...input });
    return { ...made, actor: await authenticate(store, `Bearer ${made.secret}`, made.apiKey.kind) };
  };
  return { store, invites, clock, deps, key };
};

const codeOf = async (fn: () => Promise<unknown>): Promise<ErrorCode | undefined> => {
  try {
    await fn();
  } catch (e) {
    return (e as { code: ErrorCode }).code;
  }
  return undefined;
};

describe('which keys an admin key manages', () => {
  it('lists only keys whose every domain is its own; a `*` key only for a `*` admin; nothing for a quota key', async () => {
    const { deps, key } = world();
    const all = await key('all', { domains: ['*'] });
    const a = await key('a', { domains: ['a.example'] });
    const b = await key('b', { domains: ['b.example'] });
    const ab = await key('ab', { domains: ['a.example', 'b.example'] });
    const quota = await key('quota', { domains: ['a.example'], maxLiveInvites: 5 });
    const server = await key('server', { domains: ['a.example'], kind: 'xmpp-server' });

    const names = async (actor: Actor) => (await listKeys(deps, actor)).map((k) => k.name).sort();
    expect(await names(all.actor)).toEqual(['a', 'ab', 'all', 'b', 'quota', 'server']);
    expect(await names(a.actor)).toEqual(['a', 'quota', 'server']);
    expect(await names(ab.actor)).toEqual(['a', 'ab', 'b', 'quota', 'server']);
    expect(await names(b.actor)).toEqual(['b']);
    expect(await codeOf(() => listKeys(deps, quota.actor))).toBe('forbidden');
    expect(mayManageKey(a.actor, server.apiKey)).toBe(true);
  });
});

describe('createKey', () => {
  it('creates a key for the admin’s own domains with grants it holds', async () => {
    const { deps, key, store } = world();
    const a = await key('a', { domains: ['a.example'], allowReset: true });
    const made = await createKey(deps, a.actor, { name: 'form', domains: ['A.Example'], maxLiveInvites: 10, allowReset: true });
    expect(made.apiKey).toMatchObject({ name: 'form', domains: ['a.example'], maxLiveInvites: 10, allowReset: true });
    expect((await store.get(made.apiKey.id))?.name).toBe('form');
    expect(made.secret).toMatch(/^xik_/);
  });

  it('refuses (403, nothing stored) another domain, `*`, and the reset grant the creator lacks', async () => {
    const { deps, key, store } = world();
    const a = await key('a', { domains: ['a.example'] });
    const before = store.keys.size;
    for (const input of [
      { domains: ['b.example'] },
      { domains: ['a.example', 'b.example'] },
      { domains: ['*'] },
      { domains: ['a.example'], allowReset: true },
    ]) {
      expect(await codeOf(() => createKey(deps, a.actor, { name: 'x', ...input })), JSON.stringify(input)).toBe('forbidden');
    }
    expect(store.keys.size).toBe(before);
    // The same inputs from a `*` admin with the reset grant work: the refusals were the creator's limits.
    const all = await key('all', { domains: ['*'], allowReset: true });
    expect((await createKey(deps, all.actor, { name: 'x', domains: ['*'], allowReset: true })).apiKey.domains).toEqual(['*']);
  });

  it('refuses an inviter grant wider than the creator’s list, and a server key (it names any user), to a listed-inviters admin', async () => {
    const { deps, key } = world();
    const listed = await key('listed', { domains: ['a.example'], inviters: ['alice@a.example'] });
    // An admin key without a list names anyone: that is more than the creator has.
    expect(await codeOf(() => createKey(deps, listed.actor, { name: 'x', domains: ['a.example'] }))).toBe('forbidden');
    expect(await codeOf(() => createKey(deps, listed.actor, { name: 'x', domains: ['a.example'], inviters: 'any' }))).toBe('forbidden');
    expect(await codeOf(() => createKey(deps, listed.actor, { name: 'x', domains: ['a.example'], inviters: ['bob@a.example'] }))).toBe(
      'forbidden'
    );
    expect(await codeOf(() => createKey(deps, listed.actor, { name: 'x', domains: ['a.example'], kind: 'xmpp-server' }))).toBe('forbidden');
    const ok = await createKey(deps, listed.actor, { name: 'y', domains: ['a.example'], inviters: ['Alice@A.example'] });
    expect(ok.apiKey.inviters).toEqual(['alice@a.example']);
    expect((await createKey(deps, listed.actor, { name: 'z', domains: ['a.example'], maxLiveInvites: 3 })).apiKey.inviters).toBeUndefined();
  });

  it('refuses a quota key (403) and keeps createApiKey’s input checks (400)', async () => {
    const { deps, key } = world();
    const quota = await key('quota', { maxLiveInvites: 5 });
    const all = await key('all', { domains: ['*'] });
    expect(await codeOf(() => createKey(deps, quota.actor, { name: 'x', domains: ['a.example'], maxLiveInvites: 1 }))).toBe('forbidden');
    expect(await codeOf(() => createKey(deps, all.actor, { name: '', domains: ['a.example'] }))).toBe('invalid-request');
    expect(await codeOf(() => createKey(deps, all.actor, { name: 'x', domains: [] }))).toBe('invalid-request');
  });
});

describe('revokeKey', () => {
  it('revokes a key in reach (it stops authenticating); refuses one out of reach (403) and an unknown id (404), changing nothing', async () => {
    const { deps, key, store } = world();
    const a = await key('a', { domains: ['a.example'] });
    const all = await key('all', { domains: ['*'] });
    const ab = await key('ab', { domains: ['a.example', 'b.example'] });
    const target = await key('target', { domains: ['a.example'] });

    expect(await codeOf(() => revokeKey(deps, a.actor, all.apiKey.id))).toBe('forbidden');
    expect(await codeOf(() => revokeKey(deps, a.actor, ab.apiKey.id))).toBe('forbidden');
    expect(await codeOf(() => revokeKey(deps, a.actor, 'no-such-key'))).toBe('key-not-found');
    expect(await codeOf(() => revokeKey(deps, a.actor, ''))).toBe('key-not-found');
    expect((await store.get(all.apiKey.id))?.revokedAt).toBeUndefined();
    expect((await store.get(ab.apiKey.id))?.revokedAt).toBeUndefined();

    const { key: revoked, revokedInvites } = await revokeKey(deps, a.actor, target.apiKey.id);
    expect(revoked.revokedAt).toBe(T0 + 4);
    expect(revokedInvites).toEqual([]);
    expect(await codeOf(() => authenticate(store, `Bearer ${target.secret}`))).toBe('unauthorized');
    // Its own key too: it is in reach (the console's session ends with it).
    await revokeKey(deps, a.actor, a.apiKey.id);
    expect(await codeOf(() => authenticate(store, `Bearer ${a.secret}`))).toBe('unauthorized');
  });

  it('with its invites: revokes the live invites it issued, a server key’s app invites too, and no other source’s', async () => {
    const { deps, key, invites, clock } = world();
    const all = await key('all', { domains: ['*'] });
    const leaked = await key('leaked', { domains: ['*'] });
    const server = await key('server', { domains: ['a.example'], kind: 'xmpp-server' });
    const issueAs = async (actor: Actor, domain: string, source?: string) =>
      (await issueInvite({ store: invites, clock, config }, source ? { ...actor, source } : actor, { domain })).invite.id;
    const leakedInvites = [await issueAs(leaked.actor, 'a.example'), await issueAs(leaked.actor, 'b.example')];
    const othersInvite = await issueAs(all.actor, 'a.example');
    // As /xmpp/invites records an app's invite: `<key source>:<user>`.
    const serverAdmin: Actor = { source: keySource(server.apiKey), domains: ['a.example'], admin: true };
    const appInvite = await issueAs(serverAdmin, 'a.example', `${keySource(server.apiKey)}:alice@a.example`);

    const first = await revokeKey(deps, all.actor, leaked.apiKey.id, { revokeInvites: true });
    expect([...first.revokedInvites].sort()).toEqual([...leakedInvites].sort());
    for (const id of leakedInvites) expect((await invites.get(id))?.revokedAt).toBe(clock.now());
    expect((await invites.get(othersInvite))?.revokedAt).toBeUndefined();

    const second = await revokeKey(deps, all.actor, server.apiKey.id, { revokeInvites: true });
    expect(second.revokedInvites).toEqual([appInvite]);
    expect((await invites.get(othersInvite))?.revokedAt).toBeUndefined();
  });
});

describe('keyAuditEntries', () => {
  it('writes one entry per domain of the key, `*` for a `*` key, naming it by name and source, never by id', () => {
    const ab: ApiKey = { id: 'I'.repeat(43), name: 'ab', kind: 'api', domains: ['a.example', 'b.example'], createdAt: T0 };
    const entries = keyAuditEntries('key.revoked', ab, { revokedInvites: 2 });
    expect(entries.map((e) => e.domain)).toEqual(['a.example', 'b.example']);
    expect(entries[0]).toMatchObject({ action: 'key.revoked', subject: `ab (api-key:${'I'.repeat(12)})`, detail: { revokedInvites: 2 } });
    expect(JSON.stringify(entries)).not.toContain('I'.repeat(13));
    expect(keyAuditEntries('key.created', { ...ab, domains: ['*'] }).map((e) => e.domain)).toEqual(['*']);
  });
});
