import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { httpEvent, invoke, invokeRedeem, lambdaContext } from '../support/lambda.js';
import { api, documentClientForStack, issue, stack, uniqueName, useStackEnv } from '../support/stack.js';

/**
 * MAX_REGISTRATIONS_PER_HOUR (issue 19's global brake): one counter per
 * domain and hour across every path that creates accounts. The handlers run
 * in this process with the brake set (configuration is read at import); no
 * other test file sets it, so only this file counts.
 */
const PER_HOUR = 3;
const PASSWORD = 'correct horse battery';
const handlers: Record<string, unknown> = {};
let serverKey: string;

beforeAll(async () => {
  useStackEnv();
  Object.assign(process.env, { MAX_REGISTRATIONS_PER_HOUR: String(PER_HOUR), REGISTRATION_INVITE_ONLY: 'false' });
  handlers.redeemInvite = (await import('../../functions/redeemInvite.js')).handler;
  handlers.landingSubmit = (await import('../../functions/landingSubmit.js')).handler;
  handlers.xmppRegister = (await import('../../functions/xmppRegister.js')).handler;
  handlers.register = (await import('../../functions/register.js')).handler;
  const keys = new DynamoDBApiKeyStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
  serverKey = (
    await createApiKey({ store: keys, clock: systemClock }, { name: uniqueName('prosody-'), domains: ['localhost'], kind: 'xmpp-server' })
  ).secret;
  // The counter is per clock hour: do not start right before the hour turns.
  const left = 3600 - (Math.floor(Date.now() / 1000) % 3600);
  if (left < 30) await new Promise((resolve) => setTimeout(resolve, (left + 1) * 1000));
}, 60_000);

const viaApi = async () =>
  invokeRedeem(handlers.redeemInvite, (await issue({})).token, { username: uniqueName('api'), password: PASSWORD });
const viaWeb = async () => {
  const { token } = await issue({});
  // An HTML answer: the status is what counts here.
  const handler = handlers.landingSubmit as (e: unknown, c: unknown) => Promise<{ statusCode?: number }>;
  const event = httpEvent({
    method: 'POST',
    path: `/i/${token}`,
    routeKey: 'POST /i/{token}',
    pathParameters: { token },
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    raw: new URLSearchParams({ username: uniqueName('web'), password: PASSWORD, confirm: PASSWORD }).toString(),
  });
  const res = await handler(event, lambdaContext());
  return { status: res.statusCode ?? 200, body: {} as Record<string, unknown>, headers: {} as Record<string, string> };
};
const viaApp = async (token?: string) =>
  invoke(handlers.xmppRegister, {
    method: 'POST',
    path: '/xmpp/register',
    headers: { authorization: `Bearer ${serverKey}` },
    body: { ...(token ? { token } : {}), domain: 'localhost', username: uniqueName('app'), password: PASSWORD },
  });
const openly = () =>
  invoke(handlers.register, { method: 'POST', path: '/register', body: { username: uniqueName('open'), password: PASSWORD } });

describe(`MAX_REGISTRATIONS_PER_HOUR=${PER_HOUR}`, () => {
  it('lets the last registration of the hour through on any path and refuses the next on every path (429, the invite kept)', async () => {
    const allowed = [await viaApi(), await viaWeb(), await viaApp((await issue({})).token)];
    const kept = await issue({ maxUses: 1 });
    const refused = [
      await openly(),
      await invokeRedeem(handlers.redeemInvite, kept.token, { username: uniqueName('late'), password: PASSWORD }),
      await viaApp((await issue({})).token),
      await viaApp(),
      await viaWeb(),
    ];

    expect(allowed.map((r) => r.status)).toEqual([201, 200, 201]);
    expect(refused.map((r) => r.status)).toEqual([429, 429, 429, 429, 429]);
    for (const r of refused.slice(0, 4)) expect(r.body.error).toBe('rate-limited');
    expect(Number(refused[1]?.headers['retry-after'])).toBeGreaterThan(0);
    // The refused redemption gave its use back.
    expect((await api('GET', `/invites/by-id/${kept.id}`)).body).toMatchObject({ uses: 0, pending: 0, status: 'valid' });
  });
});
