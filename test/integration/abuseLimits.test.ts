import { randomBytes } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { DynamoDBInviteStore } from '../../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { loadConfig } from '../../lib/config.js';
import { InviteError } from '../../lib/errors.js';
import type { Actor } from '../../lib/invites/actor.js';
import { issueInvite } from '../../lib/invites/issue.js';
import { systemClock, type Clock } from '../../lib/ports/Clock.js';
import type { HttpEvent, HttpResult } from '../../functions/http/route.js';
import { httpEvent, invoke, lambdaContext } from '../support/lambda.js';
import { api, documentClientForStack, issue, uniqueName, useStackEnv } from '../support/stack.js';

/**
 * The shared stack runs with limits no test reaches; here the check handler
 * runs in this process with low ones (set before it is first imported, since
 * a handler reads its configuration once per container).
 */
const LOW_LIMITS = {
  RATE_LIMIT_WINDOW_SECONDS: '60',
  RATE_LIMIT_CHECK_PER_IP: '3',
  RATE_LIMIT_CHECK_PER_TOKEN: '5',
  RATE_LIMIT_REDEEM_PER_IP: '2',
};

const checkEvent = (token: string, sourceIp: string): HttpEvent =>
  httpEvent({ method: 'GET', path: `/invites/${token}`, routeKey: 'GET /invites/{token}', pathParameters: { token }, sourceIp });

/** An IPv6 /64 of the documentation range (RFC 3849) per call, so counters never collide. */
const testNet = () => `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;
const testIp = () => `${testNet()}::1`;
/** An IPv4 address per call (10/8: nothing of the stack uses it). */
const testIpv4 = () => `10.${[...randomBytes(3)].join('.')}`;

type Handler = (event: HttpEvent, context: Context) => Promise<HttpResult>;
let check: Handler;

beforeAll(async () => {
  useStackEnv();
  Object.assign(process.env, LOW_LIMITS);
  ({ handler: check } = (await import('../../functions/checkInvite.js')) as unknown as { handler: Handler });
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Middleware: rateLimit (check route, in-process, low limits)', () => {
  it('answers 429 rate-limited with Retry-After once an address is over its limit', async () => {
    // Prepare
    const { token } = await issue({});
    const ip = testIp();

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await check(checkEvent(token, ip), lambdaContext())).statusCode as number);
    const limited = await check(checkEvent(token, ip), lambdaContext());

    // Assess
    expect(statuses).toEqual([200, 200, 200]);
    expect(limited.statusCode).toBe(429);
    expect(JSON.parse(limited.body as string)).toMatchObject({ error: 'rate-limited' });
    const retryAfter = Number(limited.headers?.['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another address is not affected.
    expect((await check(checkEvent(token, testIp()), lambdaContext())).statusCode).toBe(200);
  });

  it('limits one token across addresses', async () => {
    const { token } = await issue({});
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await check(checkEvent(token, testIp()), lambdaContext())).statusCode as number);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    // Another token from a fresh address is not affected.
    const other = await issue({});
    expect((await check(checkEvent(other.token, testIp()), lambdaContext())).statusCode).toBe(200);
  });

  it('keeps counters in DynamoDB with a TTL, keyed by a hash of the token, never the token', async () => {
    const { token } = await issue({});
    const ip = testIp();
    await check(checkEvent(token, ip), lambdaContext());
    const now = Math.floor(Date.now() / 1000);
    const windowStart = now - (now % 60);
    const db = documentClientForStack();
    // The address's canonical key: its /64.
    const { Item } = await db.send(
      new GetCommand({
        TableName: process.env.INVITES_TABLE,
        Key: { pk: `RATE#check#ip#v6:${ip.replace(/::1$/, '::')}/64#${windowStart}`, sk: 'RATE' },
      })
    );
    expect(Item).toMatchObject({ count: 1, kind: 'rate' });
    expect(Item?.expiresAt).toBeGreaterThan(now);
    expect(Item?.expiresAt).toBeLessThanOrEqual(windowStart + 60 + 60);
    expect(JSON.stringify(Item)).not.toContain(token);
  });

  it('counts a failed token lookup as a FailedTokenLookup metric (EMF log line)', async () => {
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
      lines.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write);

    const res = await check(checkEvent(randomBytes(18).toString('base64url'), testIp()), lambdaContext());

    expect(res.statusCode).toBe(404);
    const emf = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.includes('"FailedTokenLookup"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({ FailedTokenLookup: 1, route: 'check', reason: 'token-invalid' });
  });
});

describe('Middleware: rateLimit (addresses parsed, not matched)', () => {
  it('counts every address of one IPv6 /64 as one client, and another /64 apart', async () => {
    const { token } = await issue({});
    const net = testNet();
    const statuses: number[] = [];
    for (const host of ['1', '2', 'ffff:ffff:ffff:fffe'])
      statuses.push(
        (await check(checkEvent(token, host.includes(':') ? `${net}:${host}` : `${net}::${host}`), lambdaContext())).statusCode as number
      );
    const fourth = await check(checkEvent(token, `${net}:0:0:0:42`), lambdaContext());
    expect(statuses).toEqual([200, 200, 200]);
    expect(fourth.statusCode).toBe(429);
    expect((await check(checkEvent(token, testIp()), lambdaContext())).statusCode).toBe(200);
  });

  it('counts an IPv4 address and its IPv4-mapped IPv6 forms as one client', async () => {
    const { token } = await issue({});
    const ip = testIpv4();
    const [a, b, c, d] = ip.split('.').map(Number) as [number, number, number, number];
    const hex = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
    const forms = [ip, `::ffff:${ip}`, `::ffff:${hex}`, `0:0:0:0:0:ffff:${ip}`];
    const statuses: number[] = [];
    for (const form of forms) statuses.push((await check(checkEvent(token, form), lambdaContext())).statusCode as number);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe('Middleware: rateLimit on /xmpp/* (the module’s own budgets)', () => {
  type Invoke = Parameters<typeof invoke>[0];
  let serverKey: string;
  let preauth: Invoke;
  let subscribe: Invoke;
  let xmppRegister: Invoke;
  let register: Invoke;

  beforeAll(async () => {
    const keys = new DynamoDBApiKeyStore({ tableName: process.env.INVITES_TABLE as string, client: documentClientForStack() });
    ({ secret: serverKey } = await createApiKey(
      { store: keys, clock: systemClock },
      { name: uniqueName('module'), domains: ['localhost'], kind: 'xmpp-server' }
    ));
    ({ handler: preauth } = await import('../../functions/xmppPreauth.js'));
    ({ handler: subscribe } = await import('../../functions/xmppSubscribe.js'));
    ({ handler: xmppRegister } = await import('../../functions/xmppRegister.js'));
    ({ handler: register } = await import('../../functions/register.js'));
  });

  const asModule = (handler: Invoke, path: string, body: Record<string, unknown>) =>
    invoke(handler, { method: 'POST', path, body, headers: { authorization: `Bearer ${serverKey}` }, sourceIp: '127.0.0.1' });

  it('answers 400 invalid-request to an address that is no address, and counts nothing', async () => {
    const { token } = await issue({});
    for (const address of ['127.1', '0x7f.0.0.1', 'fe80::zz', '2001:db8::1::2']) {
      const res = await asModule(preauth, '/xmpp/preauth', { token, domain: 'localhost', address });
      expect([res.status, res.body.error]).toEqual([400, 'invalid-request']);
    }
    expect((await asModule(preauth, '/xmpp/preauth', { token, domain: 'localhost', address: testIp() })).status).toBe(200);
  });

  it('an address a module names never spends the web’s budget for that address (check, /register)', async () => {
    const { token } = await issue({});
    const ip = testIpv4();
    const viaModule: number[] = [];
    for (let i = 0; i < 4; i++)
      viaModule.push((await asModule(preauth, '/xmpp/preauth', { token, domain: 'localhost', address: ip })).status);
    expect(viaModule).toEqual([200, 200, 200, 429]);
    // The module's budget for the address is spent; the browser at that address still has its own.
    expect((await check(checkEvent(token, ip), lambdaContext())).statusCode).toBe(200);

    const regs: number[] = [];
    for (let i = 0; i < 3; i++) {
      regs.push(
        (
          await asModule(xmppRegister, '/xmpp/register', {
            domain: 'localhost',
            username: uniqueName(),
            password: 'correct horse battery',
            address: ip,
          })
        ).status
      );
    }
    expect(regs).toEqual([403, 403, 429]);
    const web = await invoke(register, {
      method: 'POST',
      path: '/register',
      body: { username: uniqueName(), password: 'correct horse battery' },
      sourceIp: ip,
    });
    expect([web.status, web.body.error]).toEqual([403, 'registration-closed']);
  });

  it('counts subscriptions without an address per subscriber domain: bogus tokens from one server leave another alone', async () => {
    const inviter = `${uniqueName('romeo')}@localhost`;
    const invite = await issue({ type: 'contact', inviter });
    const evil = `${uniqueName('evil')}.example`;
    const bogus: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await asModule(subscribe, '/xmpp/subscribe', {
        token: randomBytes(18).toString('base64url'),
        domain: 'localhost',
        contact: inviter,
        subscriber: `mallory${i}@${evil}`,
      });
      bogus.push(res.status);
    }
    expect(bogus).toEqual([404, 404, 429, 429, 429, 429]);

    const legit = await asModule(subscribe, '/xmpp/subscribe', {
      token: invite.token,
      domain: 'localhost',
      contact: inviter,
      subscriber: `juliet@${uniqueName('good')}.example`,
    });
    expect([legit.status, legit.body.approved]).toEqual([200, true]);
  });
});

describe('Middleware: rateLimit (open registration)', () => {
  it('limits POST /register per address like redeem, before anything else is looked at', async () => {
    // Prepare
    const { handler: register } = await import('../../functions/register.js');
    const sourceIp = testIp();
    const call = () =>
      invoke(register, {
        method: 'POST',
        path: '/register',
        body: { username: uniqueName(), password: 'correct horse battery' },
        sourceIp,
      });

    // Act
    const answers = [await call(), await call(), await call()];

    // Assess: closed registration answers 403 until the address is over its limit.
    expect(answers.map((a) => a.status)).toEqual([403, 403, 429]);
    expect(answers[2]?.body.error).toBe('rate-limited');
    expect(Number(answers[2]?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });
});

describe('Use case: issueInvite quotas (real store)', () => {
  const cfg = () => loadConfig({ ...process.env, INVITES_DOMAINS: 'localhost' });
  const store = () => new DynamoDBInviteStore({ tableName: process.env.INVITES_TABLE as string, client: documentClientForStack() });
  const fakeClock = (start: number) => {
    let now = start;
    return { clock: { now: () => now } as Clock, advance: (s: number) => (now += s) };
  };

  it('limits live invites per API key (maxLiveInvites): revoked and expired ones free the quota', async () => {
    const { clock, advance } = fakeClock(systemClock.now());
    const actor: Actor = { source: `api-key:${uniqueName('q')}`, domains: ['localhost'], admin: false, maxLiveInvites: 2 };
    const deps = { store: store(), clock, config: cfg() };

    const first = await issueInvite(deps, actor, { ttlSeconds: 120 });
    await issueInvite(deps, actor, { ttlSeconds: 3600 });
    await expect(issueInvite(deps, actor, {})).rejects.toMatchObject({ code: 'quota-exceeded' });

    await deps.store.revoke(first.invite.id, clock.now());
    const third = await issueInvite(deps, actor, { ttlSeconds: 120 });
    await expect(issueInvite(deps, actor, {})).rejects.toBeInstanceOf(InviteError);

    advance(121); // `third` has expired (TTL has not deleted it: the count must not trust presence)
    await issueInvite(deps, actor, {});
    await expect(issueInvite(deps, actor, {})).rejects.toMatchObject({ code: 'quota-exceeded' });
    expect(third.invite.expiresAt).toBeLessThanOrEqual(clock.now());
  });

  it('limits live invites per inviter for non-admin actors; admins are exempt', async () => {
    const deps = { store: store(), clock: systemClock, config: cfg(), quota: { perInviter: 2 } };
    const inviter = `${uniqueName('inv')}@localhost`;
    const user: Actor = { source: 'webhook:test', domains: ['localhost'], admin: false, inviters: 'any' };
    const admin: Actor = { source: 'cli', domains: ['*'], admin: true };

    await issueInvite(deps, user, { inviter });
    await issueInvite(deps, user, { inviter });
    await expect(issueInvite(deps, user, { inviter })).rejects.toMatchObject({ code: 'quota-exceeded', details: { limit: 2 } });
    // Another inviter has its own quota; an admin is not limited.
    await issueInvite(deps, user, { inviter: `${uniqueName('inv')}@localhost` });
    await issueInvite(deps, admin, { inviter });
  });

  it('answers 403 quota-exceeded over HTTP for an API key with maxLiveInvites', async () => {
    const keys = new DynamoDBApiKeyStore({ tableName: process.env.INVITES_TABLE as string, client: documentClientForStack() });
    const { secret } = await createApiKey(
      { store: keys, clock: systemClock },
      { name: uniqueName('k'), domains: ['localhost'], maxLiveInvites: 1 }
    );

    const first = await api('POST', '/invites', { auth: secret, body: {} });
    const second = await api('POST', '/invites', { auth: secret, body: {} });
    expect(first.status).toBe(201);
    expect(second.status).toBe(403);
    expect(second.body).toMatchObject({ error: 'quota-exceeded' });
    // Unlimited invites stay admin-only.
    expect((await api('POST', '/invites', { auth: secret, body: { maxUses: null } })).body).toMatchObject({ error: 'max-uses-invalid' });

    expect((await api('DELETE', `/invites/${first.body.id}`, { auth: secret })).status).toBe(204);
    expect((await api('POST', '/invites', { auth: secret, body: {} })).status).toBe(201);
  });
});
