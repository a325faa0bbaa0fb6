/**
 * The metrics the alarms and the dashboard read (functions/wiring/observability.ts),
 * through the real middy chain and real Powertools Metrics: each case reads
 * the EMF lines Powertools prints.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { InviteError } from '../../lib/errors.js';
import { XmppAuthError } from '../../lib/adapters/xmpp/stanzas.js';
import { httpRoute, json } from '../../functions/http/route.js';
import { countRefusal, MetricName, notARedeem, redeemMetrics } from '../../functions/wiring/observability.js';
import { invoke } from '../support/lambda.js';

interface Emitted {
  name: string;
  value: number;
  unit: string;
  dimensions: Record<string, string>;
}

/** The EMF documents printed while `run` ran, one entry per metric. */
const emitted = async (run: () => Promise<unknown>): Promise<Emitted[]> => {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return lines
    .filter((l) => l.includes('"_aws"'))
    .flatMap((l) => {
      const doc = JSON.parse(l);
      const directive = doc._aws.CloudWatchMetrics[0];
      expect(directive.Namespace).toBe('xmpp-invites');
      const dimensions = Object.fromEntries((directive.Dimensions[0] as string[]).map((d) => [d, doc[d]]));
      return directive.Metrics.map((m: { Name: string; Unit: string }) => ({ name: m.Name, unit: m.Unit, value: doc[m.Name], dimensions }));
    });
};
const names = (list: Emitted[]) => list.map((m) => m.name).sort();

beforeAll(() => {
  // Powertools prints through the global console in dev mode; metrics stay on.
  vi.stubEnv('POWERTOOLS_DEV', 'true');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'xmpp-invites-dev-redeemInvite');
});

describe('Function: redeemMetrics', () => {
  it('counts a redeem by path and times it', async () => {
    const handler = httpRoute(async () => json(201, { jid: 'a@example.com' }), { use: [redeemMetrics({ path: 'api' })] });
    const out = await emitted(() => invoke(handler, { method: 'POST', path: '/x' }));
    expect(names(out)).toEqual([MetricName.invitesRedeemed, MetricName.redeemDuration]);
    for (const m of out) expect(m.dimensions).toEqual({ service: 'xmpp-invites', path: 'api' });
    expect(out.find((m) => m.name === MetricName.redeemDuration)).toMatchObject({ unit: 'Milliseconds' });
  });

  it('counts a refusal by its code, and nothing as redeemed', async () => {
    const handler = httpRoute(
      async () => {
        throw new InviteError('token-used', 'used');
      },
      { use: [redeemMetrics({ path: 'api' })] }
    );
    const out = await emitted(() => invoke(handler, { method: 'POST', path: '/x' }));
    expect(out).toEqual([
      { name: MetricName.redeemRefused, value: 1, unit: 'Count', dimensions: { service: 'xmpp-invites', reason: 'token-used' } },
    ]);
  });

  it('counts a refused provisioning login as xmpp-unavailable, a login failure and a 5xx of the function', async () => {
    const handler = httpRoute(
      async () => {
        throw new InviteError('xmpp-unavailable', 'the XMPP server refused the login', {
          cause: new XmppAuthError('not-authorized', 'refused'),
        });
      },
      { use: [redeemMetrics({ path: 'app' })] }
    );
    const out = await emitted(() => invoke(handler, { method: 'POST', path: '/x' }));
    expect(names(out)).toEqual([MetricName.serverErrors, MetricName.redeemRefused, MetricName.xmppLoginFailed].sort());
    expect(out.find((m) => m.name === MetricName.redeemRefused)?.dimensions.reason).toBe('xmpp-unavailable');
    expect(out.find((m) => m.name === MetricName.serverErrors)?.dimensions.function).toBe('xmpp-invites-dev-redeemInvite');
    expect(out.find((m) => m.name === MetricName.xmppLoginFailed)?.dimensions).toEqual({ service: 'xmpp-invites' });
  });

  it('does not call an unreachable server a login failure (ejabberd refusing the account is one)', async () => {
    const unreachable = await emitted(() =>
      countRefusal('xmpp-unavailable', new InviteError('xmpp-unavailable', 'cannot reach the XMPP server (ECONNREFUSED)'))
    );
    expect(names(unreachable)).toEqual([MetricName.redeemRefused]);
    const refused = await emitted(() =>
      countRefusal('xmpp-unavailable', new InviteError('xmpp-unavailable', 'the ejabberd API refused the provisioning account (401)'))
    );
    expect(names(refused)).toEqual([MetricName.redeemRefused, MetricName.xmppLoginFailed]);
  });

  it('times every in-app registration, and counts as redeemed only those with an invite', async () => {
    const open = httpRoute(
      async (_event, context) => {
        notARedeem(context);
        return json(201, { jid: 'a@example.com', outcome: 'created' });
      },
      { use: [redeemMetrics({ path: 'app', inAppRegistration: true })] }
    );
    expect(names(await emitted(() => invoke(open, { method: 'POST', path: '/x' })))).toEqual([MetricName.inAppRegistrationDuration]);
    const withInvite = httpRoute(async () => json(201, { jid: 'a@example.com', outcome: 'created' }), {
      use: [redeemMetrics({ path: 'app', inAppRegistration: true })],
    });
    expect(names(await emitted(() => invoke(withInvite, { method: 'POST', path: '/x' })))).toEqual(
      [MetricName.inAppRegistrationDuration, MetricName.invitesRedeemed, MetricName.redeemDuration].sort()
    );
  });

  it('counts a malformed body as invalid-request', async () => {
    const handler = httpRoute(
      async () => {
        throw Object.assign(new Error('Unsupported Media Type'), { statusCode: 415 });
      },
      { use: [redeemMetrics({ path: 'web' })] }
    );
    const out = await emitted(() => invoke(handler, { method: 'POST', path: '/x' }));
    expect(out.map((m) => [m.name, m.dimensions.reason])).toEqual([[MetricName.redeemRefused, 'invalid-request']]);
  });
});

describe('cold start', () => {
  it('loads Powertools Metrics only when a metric is emitted (no static import anywhere in functions/)', () => {
    const dir = fileURLToPath(new URL('../../functions/', import.meta.url));
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const text = readFileSync(join(dir, file), 'utf8');
      expect(text, file).not.toMatch(/^import (?!type )[^;]*'@aws-lambda-powertools\/metrics'/m);
    }
  });
});
