import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { hashToken } from '../../lib/token.js';
import { api, documentClientForStack, expireInvite, issue, stack, uniqueName } from '../support/stack.js';

const db = () => documentClientForStack();
const table = () => stack().env.INVITES_TABLE as string;

const scopedKey = async (domains: string[], name = 'scoped') => {
  const store = new DynamoDBApiKeyStore({ tableName: table(), client: db() });
  const { secret } = await createApiKey({ store, clock: systemClock }, { name, domains });
  return secret;
};

describe('POST /invites', () => {
  it('issues an account invite with a 144-bit token, XEP-0401 URI and landing URL', async () => {
    const res = await api('POST', '/invites', { body: { note: 'hello' } });
    expect(res.status).toBe(201);
    const b = res.body;
    expect(b.token).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(b.id).toBe(hashToken(b.token));
    expect(b.uri).toBe(`xmpp:localhost?register;preauth=${b.token}`);
    expect(b.landingUrl).toBe(`${stack().baseUrl}/i/${b.token}`);
    expect(b).toMatchObject({ type: 'account', domain: 'localhost', maxUses: 1, uses: 0, note: 'hello' });
    const ttl = (Date.parse(b.expiresAt) - Date.parse(b.createdAt)) / 1000;
    expect(ttl).toBe(7 * 24 * 3600);
    expect(res.headers.get('location')).toBe(`/invites/by-id/${b.id}`);
  });

  it('stores only the hash of the token, never the token', async () => {
    const b = await issue({ note: 'hash only' });
    const { Item } = await db().send(new GetCommand({ TableName: table(), Key: { pk: `INV#${b.id}`, sk: 'INV' } }));
    expect(Item).toBeDefined();
    expect(JSON.stringify(Item)).not.toContain(b.token);
  });

  it('builds URIs for preset usernames, contact invites and resets', async () => {
    const user = uniqueName();
    const preset = await issue({ username: user });
    expect(preset.uri).toBe(`xmpp:${user}@localhost?register;preauth=${preset.token}`);
    const contact = await issue({ type: 'contact', inviter: 'admin@localhost' });
    expect(contact.uri).toBe(`xmpp:admin@localhost?roster;preauth=${contact.token};ibr=y`);
    const reset = await issue({ type: 'reset', username: uniqueName() });
    expect(reset.uri).toMatch(/^xmpp:u[0-9a-f]+@localhost\?register;preauth=/);
  });

  it('honours ttlSeconds, maxUses, unlimited uses, groups and roles', async () => {
    const b = await issue({ ttlSeconds: 3600, maxUses: 5, groups: ['Friends', 'Friends', 'Team'], roles: ['member'] });
    expect((Date.parse(b.expiresAt as string) - Date.parse(b.createdAt as string)) / 1000).toBe(3600);
    expect(b).toMatchObject({ maxUses: 5, groups: ['Friends', 'Team'], roles: ['member'] });
    const unlimited = await issue({ maxUses: null });
    expect(unlimited.maxUses).toBeNull();
  });

  it('lowercases and normalizes usernames and inviters', async () => {
    const name = uniqueName('Mixed');
    const b = await issue({ username: name.toUpperCase(), inviter: 'Admin@LocalHost' });
    expect(b.username).toBe(name.toLowerCase());
    expect(b.inviter).toBe('admin@localhost');
  });

  it('reserves a preset username while the invite lives, and frees it on revoke', async () => {
    const name = uniqueName();
    const first = await issue({ username: name });
    const second = await api('POST', '/invites', { body: { username: name } });
    expect(second.status).toBe(409);
    expect(second.body.error).toBe('username-taken');
    expect((await api('DELETE', `/invites/${first.id}`)).status).toBe(204);
    expect((await api('POST', '/invites', { body: { username: name } })).status).toBe(201);
  });

  it.each([
    ['malformed JSON', { raw: '{"type": ', headers: { 'content-type': 'application/json' } }, 400, 'invalid-json'],
    ['a body that is not an object', { body: [1, 2] }, 400, 'invalid-request'],
    ['a wrong type', { body: { maxUses: 'many' } }, 400, 'invalid-request'],
    ['an unknown field', { body: { admin: true } }, 400, 'invalid-request'],
    ['an unknown invite type', { body: { type: 'superuser' } }, 400, 'invalid-request'],
    ['maxUses 0', { body: { maxUses: 0 } }, 400, 'max-uses-invalid'],
    ['maxUses -3', { body: { maxUses: -3 } }, 400, 'max-uses-invalid'],
    ['maxUses 2 with a preset username', { body: { maxUses: 2, username: 'someone' } }, 400, 'max-uses-invalid'],
    ['a negative TTL', { body: { ttlSeconds: -5 } }, 400, 'ttl-invalid'],
    ['a huge TTL', { body: { ttlSeconds: 10 ** 12 } }, 400, 'ttl-invalid'],
    ['a fractional TTL', { body: { ttlSeconds: 1.5 } }, 400, 'invalid-request'],
    ['a username with a space', { body: { username: 'juliet capulet' } }, 400, 'username-invalid'],
    ['a username with @', { body: { username: 'a@b' } }, 400, 'username-invalid'],
    ['a username with /', { body: { username: 'sl/ash' } }, 400, 'username-invalid'],
    ['a username with a quote', { body: { username: 'o"brien' } }, 400, 'username-invalid'],
    ['a username with <>', { body: { username: '<script>' } }, 400, 'username-invalid'],
    ['a username with a zero-width joiner', { body: { username: 'ro\u200dmeo' } }, 400, 'username-invalid'],
    ['a username with NUL', { body: { username: 'ro\u0000meo' } }, 400, 'username-invalid'],
    ['a too long username', { body: { username: 'a'.repeat(65) } }, 400, 'username-invalid'],
    ['an inviter that is not a JID', { body: { inviter: 'not a jid' } }, 400, 'jid-invalid'],
    ['an inviter with a resource', { body: { inviter: 'admin@localhost/phone' } }, 400, 'jid-invalid'],
    ['an inviter on another domain', { body: { inviter: 'romeo@elsewhere.example' } }, 400, 'jid-invalid'],
    ['a contact invite without inviter', { body: { type: 'contact' } }, 400, 'invalid-request'],
    ['a reset invite without username', { body: { type: 'reset' } }, 400, 'username-required'],
    ['a domain this service does not serve', { body: { domain: 'evil.example' } }, 400, 'domain-not-served'],
    ['a group with control characters', { body: { groups: ['a\u0007b'] } }, 400, 'invalid-request'],
    ['an oversize body', { body: { note: 'x'.repeat(20_000) } }, 413, 'body-too-large'],
    [
      'a form-encoded body',
      { raw: 'type=account', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      'unsupported-media-type',
    ],
  ])('rejects %s with a clear 4xx and changes nothing', async (_name, request, status, code) => {
    const marker = uniqueName('bad');
    const opts = request as { body?: Record<string, unknown>; raw?: string; headers?: Record<string, string> };
    // Tag the request with a unique inviter where the case allows, so we can
    // prove afterwards that nothing was stored for it.
    const tag = opts.body && !Array.isArray(opts.body) && !_name.includes('inviter');
    const body = tag ? { inviter: `${marker}@localhost`, ...opts.body } : opts.body;
    const res = await api('POST', '/invites', { ...opts, body });
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ error: code });
    expect(typeof res.body.message).toBe('string');
    const after = await api('GET', `/invites?inviter=${marker}@localhost`);
    expect(after.body.items).toEqual([]);
  });

  it('answers 401 without a key, with a wrong key, and with a revoked key', async () => {
    for (const authorization of [undefined, 'Bearer nope', 'Basic YWRtaW46YWRtaW4=', `Bearer xik_${'A'.repeat(43)}`]) {
      const res = await api('POST', '/invites', {
        body: {},
        headers: authorization ? { authorization } : {},
        auth: authorization ? undefined : false,
      });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('unauthorized');
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    const secret = await scopedKey(['localhost'], 'to-revoke');
    expect((await api('POST', '/invites', { body: {}, auth: secret })).status).toBe(201);
    const store = new DynamoDBApiKeyStore({ tableName: table(), client: db() });
    const { sha256 } = await import('../../lib/token.js');
    await store.revoke(sha256(secret), systemClock.now());
    expect((await api('POST', '/invites', { body: {}, auth: secret })).status).toBe(401);
  });

  it('answers 401 before looking at the body', async () => {
    const res = await api('POST', '/invites', { raw: '{broken', headers: { 'content-type': 'application/json' }, auth: false });
    expect(res.status).toBe(401);
  });

  it('answers 403 for a domain outside the key scope', async () => {
    const secret = await scopedKey(['other.example']);
    const res = await api('POST', '/invites', { body: { domain: 'localhost' }, auth: secret });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('forbidden');
    expect((await api('POST', '/invites', { body: { domain: 'other.example' }, auth: secret })).status).toBe(201);
  });
});

describe('GET /invites/{token}', () => {
  it('checks a valid invite without consuming it, and needs no key', async () => {
    const b = await issue({ inviter: 'admin@localhost', maxUses: 3 });
    for (let i = 0; i < 3; i++) {
      const res = await api('GET', `/invites/${b.token}`, { auth: false });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        valid: true,
        type: 'account',
        domain: 'localhost',
        inviter: 'admin@localhost',
        username: null,
        expiresAt: b.expiresAt,
        usesLeft: 3,
      });
    }
  });

  it('answers 404 token-invalid for unknown and malformed tokens', async () => {
    for (const token of ['AAAAAAAAAAAAAAAAAAAAAAAA', 'short', 'x'.repeat(200), '%00', "'%20OR%201=1"]) {
      const res = await api('GET', `/invites/${token}`, { auth: false });
      expect(res.status).toBe(404);
      expect(res.body.error).toBe('token-invalid');
    }
  });

  it('answers 410 token-expired as soon as expiresAt passes, before TTL deletes the item', async () => {
    const b = await issue({ ttlSeconds: 60 });
    await expireInvite(b.id);
    const res = await api('GET', `/invites/${b.token}`, { auth: false });
    expect(res.status).toBe(410);
    expect(res.body.error).toBe('token-expired');
  });

  it('answers 410 token-revoked after revocation', async () => {
    const b = await issue({});
    await api('DELETE', `/invites/${b.id}`);
    const res = await api('GET', `/invites/${b.token}`, { auth: false });
    expect(res.status).toBe(410);
    expect(res.body.error).toBe('token-revoked');
  });

  it('answers 410 token-used when no use is left', async () => {
    const b = await issue({});
    await db().send(
      new UpdateCommand({
        TableName: table(),
        Key: { pk: `INV#${b.id}`, sk: 'INV' },
        UpdateExpression: 'SET uses = :one',
        ExpressionAttributeValues: { ':one': 1 },
      })
    );
    const res = await api('GET', `/invites/${b.token}`, { auth: false });
    expect(res.status).toBe(410);
    expect(res.body.error).toBe('token-used');
  });

  it('sends security headers and no-store', async () => {
    const b = await issue({});
    const res = await api('GET', `/invites/${b.token}`, { auth: false });
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('GET /invites and GET /invites/by-id/{id}', () => {
  let inviter: string;
  const ids: string[] = [];
  beforeAll(async () => {
    const name = uniqueName('lister');
    inviter = `${name}@localhost`;
    for (let i = 0; i < 5; i++) ids.push((await issue({ inviter, note: `n${i}` })).id);
  });

  it('lists by inviter, newest first, with opaque cursors', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const qs: string = `inviter=${encodeURIComponent(inviter)}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await api('GET', `/invites?${qs}`);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((i: { id: string }) => i.id));
      cursor = res.body.cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(seen).toHaveLength(5);
  });

  it('filters by status', async () => {
    await api('DELETE', `/invites/${ids[0]}`);
    await expireInvite(ids[1] as string);
    const q = (status: string) => api('GET', `/invites?inviter=${encodeURIComponent(inviter)}&status=${status}`);
    expect((await q('revoked')).body.items.map((i: { id: string }) => i.id)).toEqual([ids[0]]);
    expect((await q('expired')).body.items.map((i: { id: string }) => i.id)).toEqual([ids[1]]);
    const valid = (await q('valid')).body.items.map((i: { id: string }) => i.id);
    expect(new Set(valid)).toEqual(new Set(ids.slice(2)));
    expect((await q('used')).body.items).toEqual([]);
    for (const item of (await q('valid')).body.items) expect(item.status).toBe('valid');
  });

  it('lists by domain', async () => {
    const secret = await scopedKey(['other.example'], 'lister');
    const b = await api('POST', '/invites', { body: { domain: 'other.example', note: 'by domain' }, auth: secret });
    const res = await api('GET', '/invites?limit=200', { auth: secret });
    expect(res.status).toBe(200);
    expect(res.body.items.map((i: { id: string }) => i.id)).toContain(b.body.id);
    for (const item of res.body.items) expect(item.domain).toBe('other.example');
  });

  it('filters by type and by the source that issued them', async () => {
    const secret = await scopedKey(['localhost'], 'typed');
    const contact = await api('POST', '/invites', { body: { type: 'contact', inviter, note: 'typed' }, auth: secret });
    expect(contact.status).toBe(201);
    const q = async (qs: string) => {
      const res = await api('GET', `/invites?inviter=${encodeURIComponent(inviter)}&limit=200&${qs}`);
      expect(res.status, qs).toBe(200);
      return res.body.items as { id: string; type: string; source: string }[];
    };
    expect((await q('type=contact')).map((i) => i.id)).toEqual([contact.body.id]);
    expect(new Set((await q('type=account')).map((i) => i.id))).toEqual(new Set(ids));
    const source = (await q('type=contact'))[0]?.source as string;
    expect(source).toMatch(/^api-key:/);
    expect((await q(`source=${encodeURIComponent(source)}`)).map((i) => i.id)).toEqual([contact.body.id]);
    expect((await q(`source=${encodeURIComponent(source)}&type=account`)).map((i) => i.id)).toEqual([]);
  });

  it('rejects bad list parameters with clear codes', async () => {
    const cases: [string, number, string][] = [
      ['status=bogus', 400, 'invalid-request'],
      ['limit=0', 400, 'invalid-request'],
      ['limit=abc', 400, 'invalid-request'],
      ['limit=100000', 400, 'invalid-request'],
      ['cursor=not-a-cursor', 400, 'cursor-invalid'],
      [
        `cursor=${Buffer.from(JSON.stringify({ pk: 'x', sk: 'y', gsi2pk: 'DOMAIN#other', gsi2sk: 'z' })).toString('base64url')}`,
        400,
        'cursor-invalid',
      ],
      ['inviter=nobody', 400, 'jid-invalid'],
      ['domain=evil.example', 400, 'domain-not-served'],
      ['sort=desc', 400, 'invalid-request'],
      ['type=admin', 400, 'invalid-request'],
      ['source=has%20space', 400, 'invalid-request'],
    ];
    for (const [qs, status, code] of cases) {
      const res = await api('GET', `/invites?${qs}`);
      expect({ qs, status: res.status, code: res.body?.error }).toEqual({ qs, status, code });
    }
    expect((await api('GET', '/invites', { auth: false })).status).toBe(401);
  });

  it('shows one invite with counters and audit fields', async () => {
    const res = await api('GET', `/invites/by-id/${ids[3]}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: ids[3],
      status: 'valid',
      inviter,
      uses: 0,
      pending: 0,
      completed: 0,
      usesLeft: 1,
      note: 'n3',
      redemptions: [],
      revokedAt: null,
    });
    expect(res.body.source).toMatch(/^api-key:/);
    expect(res.body).not.toHaveProperty('token');
  });

  it('answers 404 invite-not-found and 403 out of scope', async () => {
    expect((await api('GET', `/invites/by-id/${'A'.repeat(43)}`)).body.error).toBe('invite-not-found');
    expect((await api('GET', '/invites/by-id/garbage')).status).toBe(404);
    const secret = await scopedKey(['other.example'], 'outsider');
    const res = await api('GET', `/invites/by-id/${ids[3]}`, { auth: secret });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('forbidden');
    expect((await api('DELETE', `/invites/${ids[3]}`, { auth: secret })).status).toBe(403);
    expect((await api('GET', `/invites/by-id/${ids[3]}`)).body.status).toBe('valid');
  });
});

describe('DELETE /invites/{id}', () => {
  it('revokes idempotently and keeps the first revocation time', async () => {
    const b = await issue({});
    expect((await api('DELETE', `/invites/${b.id}`)).status).toBe(204);
    const first = (await api('GET', `/invites/by-id/${b.id}`)).body.revokedAt;
    expect(first).toEqual(expect.any(String));
    const again = await api('DELETE', `/invites/${b.id}`);
    expect(again.status).toBe(204);
    expect(again.text).toBe('');
    expect((await api('GET', `/invites/by-id/${b.id}`)).body.revokedAt).toBe(first);
  });

  it('answers 404 for an unknown id and 401 without a key', async () => {
    expect((await api('DELETE', `/invites/${'B'.repeat(43)}`)).status).toBe(404);
    const b = await issue({});
    expect((await api('DELETE', `/invites/${b.id}`, { auth: false })).status).toBe(401);
    expect((await api('GET', `/invites/${b.token}`, { auth: false })).status).toBe(200);
  });
});
