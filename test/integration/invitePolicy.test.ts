import { randomUUID } from 'node:crypto';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { HOUR_SECONDS, WEEK_SECONDS } from '../../lib/invites/policy.js';
import { systemClock } from '../../lib/ports/Clock.js';
import type { BrakeWebhookEvent } from '../../lib/webhooks/events.js';
import { signatureHeader, verifySignature } from '../../lib/webhooks/signature.js';
import { startStreamPoller, type StreamPoller } from '../../scripts/local/streamPoller.js';
import { httpEvent, invoke, invokeRedeem, lambdaContext } from '../support/lambda.js';
import { canLogin, documentClientForStack, prosodyAdmin, stack, uniqueName, useStackEnv } from '../support/stack.js';
import { sourceSecret, startReceiver } from '../support/webhooks.js';

/**
 * The invitation policy (lib/invites/policy.ts) at each knob's edge, through
 * the real handlers in this process (DynamoDB Local and Prosody of the shared
 * stack) with low limits that the shared stack, which runs without them,
 * never sees. Each test runs in hours of its own (the handlers' clock is
 * moved far ahead, 400 hours apart, more than the 7-day allowance window),
 * so counters of one test never reach another.
 */
const LIMITS = {
  INVITES_PER_INVITER_PER_WEEK: '2',
  MAX_REGISTRATIONS_PER_HOUR: '2',
  // Open registration, for its part of the brake.
  REGISTRATION_INVITE_ONLY: 'false',
};
const PASSWORD = 'correct horse battery';
type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
const DOMAIN = 'localhost';

const handlers = {} as Record<
  'issue' | 'check' | 'redeem' | 'landingSubmit' | 'register' | 'xmppRegister' | 'xmppInvites' | 'signup',
  unknown
>;
let serverKey: string;
let adminKey: string;
const db = documentClientForStack();
const table = () => stack().env.INVITES_TABLE as string;

let hourSlot = 0;
let now = 0;
/** Moves the handlers' clock to a fresh hour of this test's own, `offset` seconds in. */
const freshHour = (offset = 600) => {
  hourSlot++;
  const hour = (Math.floor(Date.now() / 1000 / HOUR_SECONDS) + 1000 + hourSlot * 400) * HOUR_SECONDS;
  now = hour + offset;
  vi.spyOn(systemClock, 'now').mockImplementation(() => now);
  return hour;
};

const apiKeys = () => new DynamoDBApiKeyStore({ tableName: table(), client: db });

const issueAs = (body: Record<string, unknown>, key = adminKey) =>
  invoke(handlers.issue, { method: 'POST', path: '/invites', body, headers: { authorization: `Bearer ${key}` } });

const issueToken = async (body: Record<string, unknown> = {}) => {
  const res = await issueAs(body);
  expect(res.status, res.text).toBe(201);
  return res.body.token as string;
};

const check = (token: string) =>
  invoke(handlers.check, { method: 'GET', path: `/invites/${token}`, routeKey: 'GET /invites/{token}', pathParameters: { token } });

/** `POST /i/{token}` answers HTML: status, headers and the page's text. */
const submitForm = async (token: string, username: string) => {
  const res = await (handlers.landingSubmit as Handler)(
    httpEvent({
      method: 'POST',
      path: `/i/${token}`,
      routeKey: 'POST /i/{token}',
      pathParameters: { token },
      raw: new URLSearchParams({ username, password: PASSWORD, confirm: PASSWORD }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    }),
    lambdaContext()
  );
  return { status: res.statusCode, headers: res.headers ?? {}, html: String(res.body ?? '') };
};

const asServer = (handler: unknown, path: string, body: Record<string, unknown>) =>
  invoke(handler, { method: 'POST', path, body, headers: { authorization: `Bearer ${serverKey}` } });

const appInvite = (inviter: string, body: Record<string, unknown> = { type: 'contact' }) =>
  asServer(handlers.xmppInvites, '/xmpp/invites', { domain: DOMAIN, inviter, ...body });

const brakeTrips = async (hour: number) =>
  (
    await db.send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :trip)',
        ExpressionAttributeValues: { ':pk': `BRAKE#${DOMAIN}`, ':trip': `TRIP#${String(hour).padStart(10, '0')}` },
      })
    )
  ).Items ?? [];

/** The operator's webhook receiver, fed by the table's stream through the real notifier. */
const WEBHOOK_SECRET = randomUUID();
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let poller: StreamPoller | undefined;
const brakeEvents = (windowStart: number) =>
  receiver.received
    .map((r) => ({ r, event: JSON.parse(r.body) as BrakeWebhookEvent }))
    .filter(
      ({ event }) => event.type === 'registration.brake' && event.data.brake.windowStart === new Date(windowStart * 1000).toISOString()
    );

beforeAll(async () => {
  const { env } = useStackEnv();
  receiver = await startReceiver(() => 204);
  Object.assign(process.env, LIMITS, {
    WEBHOOK_ENDPOINTS: JSON.stringify({ ops: { url: receiver.url, secret: WEBHOOK_SECRET, events: ['registration.brake'] } }),
  });
  adminKey = stack().apiKey;
  ({ secret: serverKey } = await createApiKey(
    { store: apiKeys(), clock: systemClock },
    { name: uniqueName('policy-'), domains: [DOMAIN], kind: 'xmpp-server' }
  ));
  const load = async (path: string) => ((await import(path)) as { handler: unknown }).handler;
  handlers.issue = await load('../../functions/issueInvite.js');
  handlers.check = await load('../../functions/checkInvite.js');
  handlers.redeem = await load('../../functions/redeemInvite.js');
  handlers.landingSubmit = await load('../../functions/landingSubmit.js');
  handlers.register = await load('../../functions/register.js');
  handlers.xmppRegister = await load('../../functions/xmppRegister.js');
  handlers.xmppInvites = await load('../../functions/xmppInvites.js');
  handlers.signup = await load('../../functions/signupWebhook.js');
  const notifier = (await import('../../functions/notifier.js')).handler;
  poller = await startStreamPoller({
    endpoint: env.AWS_ENDPOINT_URL_DYNAMODB as string,
    tableName: table(),
    handler: (event) => notifier(event, lambdaContext('notifier')),
    intervalMs: 100,
  });
});

afterAll(async () => {
  await poller?.stop();
  await receiver?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('INVITES_PER_INVITER_PER_WEEK (2): the allowance per inviter over a rolling 7 days', () => {
  it('API: the 2nd invite naming an inviter passes, the 3rd is 403 quota-exceeded until the 1st leaves the window', async () => {
    // Prepare: a non-admin key granted one inviter, and an admin key naming the same inviter.
    const hour = freshHour();
    const inviter = `${uniqueName('alice')}@${DOMAIN}`;
    const { secret: quotaKey } = await createApiKey(
      { store: apiKeys(), clock: systemClock },
      { name: uniqueName('k-'), domains: [DOMAIN], maxLiveInvites: 100, inviters: [inviter] }
    );

    // Act
    const first = await issueAs({ inviter }, quotaKey);
    now += 2 * HOUR_SECONDS;
    const second = await issueAs({ inviter, type: 'contact' });
    const third = await issueAs({ inviter }, quotaKey);
    const byAdmin = await issueAs({ inviter });

    // Assess: the admin key counts too when it names an inviter.
    expect([first.status, second.status, third.status, byAdmin.status]).toEqual([201, 201, 403, 403]);
    const nextAllowedAt = hour + WEEK_SECONDS;
    expect(third.body).toMatchObject({
      error: 'quota-exceeded',
      details: { limit: 2, windowSeconds: WEEK_SECONDS, nextAllowedAt: new Date(nextAllowedAt * 1000).toISOString() },
    });
    expect(third.body.message).toContain(inviter);
    expect(Number(third.headers['retry-after'])).toBe(nextAllowedAt - now);
    expect(third.body.details.retryAfter).toBe(nextAllowedAt - now);
    // A refused invite was not written.
    now = nextAllowedAt - 1;
    expect((await issueAs({ inviter }, quotaKey)).status).toBe(403);
    // The first invite's hour leaves the window: one more, and only one.
    now = nextAllowedAt;
    expect((await issueAs({ inviter }, quotaKey)).status).toBe(201);
    expect((await issueAs({ inviter }, quotaKey)).status).toBe(403);
  });

  it('API: counts a non-admin key without an inviter by the key; an admin key without one is exempt', async () => {
    freshHour();
    const { secret: quotaKey } = await createApiKey(
      { store: apiKeys(), clock: systemClock },
      { name: uniqueName('k-'), domains: [DOMAIN], maxLiveInvites: 100 }
    );
    const byKey = [];
    for (let i = 0; i < 3; i++) byKey.push((await issueAs({}, quotaKey)).status);
    const byAdmin = [];
    for (let i = 0; i < 3; i++) byAdmin.push((await issueAs({})).status);
    expect(byKey).toEqual([201, 201, 403]);
    expect(byAdmin).toEqual([201, 201, 201]);
  });

  it('in-app (/xmpp/invites): counts the requesting user, with or without a roster subscription', async () => {
    freshHour();
    const user = `${uniqueName('romeo')}@${DOMAIN}`;
    const statuses = [(await appInvite(user)).status, (await appInvite(user, { type: 'account', username: uniqueName('n') })).status];
    const third = await appInvite(user, { type: 'account', username: uniqueName('n'), rosterSubscription: true });
    expect(statuses).toEqual([201, 201]);
    expect(third.status).toBe(403);
    expect(third.body).toMatchObject({ error: 'quota-exceeded', details: { limit: 2 } });
    // Another user of the same server has an allowance of their own.
    expect((await appInvite(`${uniqueName('juliet')}@${DOMAIN}`)).status).toBe(201);
  });

  it('signup source: counts the source (its inviter when it names none)', async () => {
    freshHour();
    const post = (id: string) => {
      const raw = JSON.stringify({ id, username: uniqueName('s') });
      return invoke(handlers.signup, {
        method: 'POST',
        path: '/hooks/signup/test-form',
        routeKey: 'POST /hooks/signup/{source}',
        pathParameters: { source: 'test-form' },
        raw,
        headers: { 'content-type': 'application/json', 'x-signature': signatureHeader(sourceSecret('test-form'), now, raw) },
      });
    };
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const statuses = [];
    for (const id of ids) statuses.push((await post(id)).status);
    expect(statuses).toEqual([201, 201, 403]);
    // A replay of an accepted delivery is still answered (no new invite, nothing counted).
    const replay = await post(ids[0]!);
    expect(replay.status).toBe(200);
  });
});

describe('MAX_REGISTRATIONS_PER_HOUR (2): the registration brake per domain, over every path', () => {
  it('API redeem: the 2nd account passes, the 3rd is 429 rate-limited and its invite is not spent', async () => {
    // Prepare
    const hour = freshHour();
    const tokens = [await issueToken(), await issueToken(), await issueToken()];
    const names = tokens.map(() => uniqueName('b'));

    // Act
    const first = await invokeRedeem(handlers.redeem, tokens[0]!, { username: names[0], password: PASSWORD });
    const second = await invokeRedeem(handlers.redeem, tokens[1]!, { username: names[1], password: PASSWORD });
    const third = await invokeRedeem(handlers.redeem, tokens[2]!, { username: names[2], password: PASSWORD });

    // Assess
    expect([first.status, second.status, third.status]).toEqual([201, 201, 429]);
    expect(third.body).toMatchObject({ error: 'rate-limited', details: { limit: 2, windowSeconds: HOUR_SECONDS } });
    expect(Number(third.headers['retry-after'])).toBe(hour + HOUR_SECONDS - now);
    expect(await canLogin(`${names[2]}@${DOMAIN}`, PASSWORD)).toBe(false);
    // The refused redeem burned nothing: the invite is still valid and its name free.
    const checked = await check(tokens[2]!);
    expect(checked.status).toBe(200);
    expect(checked.body).toMatchObject({ valid: true });
    const lock = await db.send(new GetCommand({ TableName: table(), Key: { pk: `JID#${names[2]}@${DOMAIN}`, sk: 'ACCOUNT' } }));
    expect(lock.Item).toBeUndefined();
    // The next hour the same request succeeds.
    now = hour + HOUR_SECONDS;
    expect((await invokeRedeem(handlers.redeem, tokens[2]!, { username: names[2], password: PASSWORD })).status).toBe(201);
    expect(await canLogin(`${names[2]}@${DOMAIN}`, PASSWORD)).toBe(true);
  });

  it('a refused or failed registration does not eat the budget', async () => {
    freshHour();
    const taken = uniqueName('t');
    await prosodyAdmin().createAccount(`${taken}@${DOMAIN}`, PASSWORD);
    const tokens = [await issueToken(), await issueToken(), await issueToken()];
    // Refused before anything is created: the name exists on the server, a weak password, a replay of a completed redeem.
    const conflict = await invokeRedeem(handlers.redeem, tokens[0]!, { username: taken, password: PASSWORD });
    const weak = await invokeRedeem(handlers.redeem, tokens[0]!, { username: uniqueName('w'), password: 'x' });
    const name = uniqueName('ok');
    const ok = await invokeRedeem(handlers.redeem, tokens[0]!, { username: name, password: PASSWORD });
    const replay = await invokeRedeem(handlers.redeem, tokens[0]!, { username: name, password: PASSWORD });
    expect([conflict.status, weak.status, ok.status, replay.status]).toEqual([409, 400, 201, 201]);
    // Only one of the two slots is spent.
    expect((await invokeRedeem(handlers.redeem, tokens[1]!, { username: uniqueName('ok'), password: PASSWORD })).status).toBe(201);
    expect((await invokeRedeem(handlers.redeem, tokens[2]!, { username: uniqueName('ok'), password: PASSWORD })).status).toBe(429);
  });

  it('parallel redeems at the edge: exactly the limit gets through', async () => {
    freshHour();
    const tokens = [await issueToken(), await issueToken(), await issueToken(), await issueToken()];
    const results = await Promise.all(
      tokens.map((token) => invokeRedeem(handlers.redeem, token, { username: uniqueName('p'), password: PASSWORD }))
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 429, 429]);
  });

  it('web form: the 2nd account passes, the 3rd answers the 429 page and keeps its invite', async () => {
    freshHour();
    const tokens = [await issueToken(), await issueToken(), await issueToken()];
    const results = [];
    for (const token of tokens) results.push(await submitForm(token, uniqueName('web')));
    expect(results.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(results[2]!.headers['content-type']).toMatch(/^text\/html/);
    expect(results[2]!.html).not.toContain(PASSWORD);
    expect(Number(results[2]!.headers['retry-after'])).toBeGreaterThan(0);
    expect((await check(tokens[2]!)).body).toMatchObject({ valid: true });
  });

  it('in-app (/xmpp/register), open registration and the API share one budget per domain; the operator is told once', async () => {
    const hour = freshHour();
    const viaApp = await asServer(handlers.xmppRegister, '/xmpp/register', {
      domain: DOMAIN,
      token: await issueToken(),
      username: uniqueName('app'),
      password: PASSWORD,
    });
    const open = await invoke(handlers.register, {
      method: 'POST',
      path: '/register',
      body: { username: uniqueName('open'), password: PASSWORD, domain: DOMAIN },
    });
    const appRefused = await asServer(handlers.xmppRegister, '/xmpp/register', {
      domain: DOMAIN,
      token: await issueToken(),
      username: uniqueName('app'),
      password: PASSWORD,
    });
    const openRefused = await asServer(handlers.xmppRegister, '/xmpp/register', {
      domain: DOMAIN,
      username: uniqueName('open'),
      password: PASSWORD,
    });
    const webRefused = await invoke(handlers.register, {
      method: 'POST',
      path: '/register',
      body: { username: uniqueName('open'), password: PASSWORD, domain: DOMAIN },
    });
    expect([viaApp.status, open.status]).toEqual([201, 201]);
    expect([appRefused.status, openRefused.status, webRefused.status]).toEqual([429, 429, 429]);
    expect(appRefused.body).toMatchObject({ error: 'rate-limited' });
    // One trip record for the hour (the registration.brake event comes from it), however many refusals.
    const trips = await brakeTrips(hour);
    expect(trips).toHaveLength(1);
    expect(trips[0]).toMatchObject({ domain: DOMAIN, limit: 2, windowStart: hour, windowSeconds: HOUR_SECONDS });
    // The operator's endpoint gets one signed registration.brake event for it.
    const deadline = Date.now() + 30_000;
    while (brakeEvents(hour).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const delivered = brakeEvents(hour);
    expect(delivered).toHaveLength(1);
    const { r, event } = delivered[0]!;
    expect(
      verifySignature({ header: r.headers['x-signature'] as string, body: r.body, secrets: [WEBHOOK_SECRET], now: now })
    ).toBeGreaterThan(0);
    expect(event.data.brake).toEqual({
      domain: DOMAIN,
      limit: 2,
      windowSeconds: HOUR_SECONDS,
      windowStart: new Date(hour * 1000).toISOString(),
      windowEnd: new Date((hour + HOUR_SECONDS) * 1000).toISOString(),
    });
  });
});
