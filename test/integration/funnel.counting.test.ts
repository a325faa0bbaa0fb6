import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBFunnelCounters } from '../../lib/adapters/dynamodb/DynamoDBFunnelCounters.js';
import { DynamoDBInviteStore } from '../../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { loadConfig } from '../../lib/config.js';
import { issueInvite } from '../../lib/invites/issue.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { dayOf } from '../../lib/ports/FunnelCounters.js';
import { generateToken } from '../../lib/token.js';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { httpEvent, invokeRedeem, lambdaContext } from '../support/lambda.js';
import { documentClientForStack, uniqueName, useStackEnv } from '../support/stack.js';

/**
 * Where the requests count (#21), exactly: the landing page and the redeem
 * handlers run in this process on the shared table, serving one more domain
 * of this file's own, so no other file's requests add to its counters.
 */
const DOMAIN = `${uniqueName('funnel')}.example`;
type LandingHandler = (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
let landing: unknown;
let redeem: unknown;
let counters: DynamoDBFunnelCounters;

const issueOn = async (domain: string) => {
  const config = loadConfig(process.env);
  const store = new DynamoDBInviteStore({ tableName: config.tableName, client: documentClientForStack() });
  const { view } = await issueInvite({ store, clock: systemClock, config }, { source: 'test', domains: ['*'], admin: true }, { domain });
  return view;
};

const today = async () => {
  const day = dayOf(systemClock.now());
  return (await counters.read(DOMAIN, day, day))[0]?.counts;
};

beforeAll(async () => {
  const { env } = useStackEnv();
  // Read when the handlers are first imported: after this.
  process.env.INVITES_DOMAINS = `${env.INVITES_DOMAINS},${DOMAIN}`;
  ({ handler: landing } = await import('../../functions/landingPage.js'));
  ({ handler: redeem } = await import('../../functions/redeemInvite.js'));
  counters = new DynamoDBFunnelCounters({ tableName: env.INVITES_TABLE as string, client: documentClientForStack() });
});

describe('the funnel, counted where the requests happen', () => {
  it("counts the invite once, a live invite's page shown with GET (not HEAD, not a dead token's page), and refusals on the invite's domain", async () => {
    const invite = await issueOn(DOMAIN);
    const page = async (method: 'GET' | 'HEAD', token: string) =>
      await (landing as LandingHandler)(
        httpEvent({ method, path: `/i/${token}`, routeKey: 'GET /i/{token}', pathParameters: { token } }),
        lambdaContext()
      );

    expect((await page('GET', invite.token)).statusCode).toBe(200);
    expect((await page('HEAD', invite.token)).statusCode).toBe(200);
    expect((await page('GET', generateToken())).statusCode).toBe(404);
    // A refusal after the invite was read (a weak password): counted on its domain, with no read of its own.
    const weak = await invokeRedeem(redeem, invite.token, { username: uniqueName('w'), password: 'short' });
    expect([weak.status, weak.body.error]).toEqual([400, 'password-weak']);
    // A token that matches no invite, with several domains served: no domain, so not in any domain's funnel.
    const unknown = await invokeRedeem(redeem, generateToken(), { username: uniqueName('w'), password: 'a long enough passphrase' });
    expect([unknown.status, unknown.body.error]).toEqual([404, 'token-invalid']);

    // The invite itself, from the stream (the stack's notifier, and any other file's poller on the table): once.
    const deadline = Date.now() + 30_000;
    while ((await today())?.issued !== 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await today()).toEqual({ issued: 1, opened: 1, registered: {}, refused: { 'password-weak': 1 } });
  });
});
