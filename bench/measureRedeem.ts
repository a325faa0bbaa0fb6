/**
 * The redeem measurements: ours end to end over HTTP, warm and cold, against
 * Prosody's own invite flow; the use case in-process against its floor; and
 * in-app registration through mod_xmpp_invites against mod_invites_register.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ROOT } from '../scripts/local/stack.js';
import { IN_APP_DOMAIN, type InAppSetup } from './lib/inApp.js';
import { type FlowSteps, type NativeTarget, nativeRedeem } from './lib/nativeFlow.js';
import { http, summarize, time, type Summary } from './lib/stats.js';
import { benchWarmRedeem } from './lib/warmRedeem.js';
import { COLD_SAMPLES, type Ctx, IN_APP_SAMPLES, ourIssue, PASSWORD, prosodyIssue, REDEEM_SAMPLES, ratio, uniq } from './common.js';

const ourRedeem = async (ctx: Ctx, token: string, username: string) => {
  const res = await http(`${ctx.baseUrl}/invites/${token}/redeem`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  if (res.status !== 201) throw new Error(`redeem: ${res.status} ${res.body}`);
};

const redeemEvent = (token: string, username: string) => ({
  version: '2.0',
  routeKey: 'POST /invites/{token}/redeem',
  rawPath: `/invites/${token}/redeem`,
  rawQueryString: '',
  headers: { 'content-type': 'application/json', host: 'localhost' },
  pathParameters: { token },
  isBase64Encoded: false,
  body: JSON.stringify({ username, password: PASSWORD }),
  requestContext: {
    accountId: 'bench',
    apiId: 'bench',
    domainName: 'localhost',
    domainPrefix: 'localhost',
    requestId: randomBytes(8).toString('hex'),
    routeKey: 'POST /invites/{token}/redeem',
    stage: '$default',
    time: new Date().toISOString(),
    timeEpoch: Date.now(),
    http: { method: 'POST', path: `/invites/${token}/redeem`, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
  },
});

const assertBothWays = async (ctx: Ctx, jid: string) => {
  const [a, b] = await Promise.all([ctx.admin.getRoster(ctx.inviter), ctx.admin.getRoster(jid)]);
  const ok = a.some((i) => i.jid === jid && i.subscription === 'both') && b.some((i) => i.jid === ctx.inviter && i.subscription === 'both');
  if (!ok) throw new Error(`redeem did not give both/both between ${ctx.inviter} and ${jid}`);
};

// --- Redeem end to end -------------------------------------------------------

export const benchInProcess = async (ctx: Ctx) => {
  const { inProcess, floor } = await benchWarmRedeem({
    env: ctx.stack.env,
    domain: ctx.prosody.domain,
    service: ctx.prosody.service,
    adminJid: ctx.prosody.adminJid,
    adminPassword: ctx.prosody.adminPassword,
    caFile: ctx.prosody.caFile,
    inviter: ctx.inviter,
    password: PASSWORD,
  });
  return { inProcess, floor };
};

export const benchRedeem = async (ctx: Ctx, bundles: string) => {
  const domain = ctx.prosody.domain;
  const target = { host: '127.0.0.1', port: ctx.prosody.c2sPort, domain, caFile: ctx.prosody.caFile };
  // Warm-up both sides (our worker, the admin connection; Prosody's modules).
  for (let i = 0; i < 3; i++) {
    const { token } = await ourIssue(ctx, { inviter: ctx.inviter });
    await ourRedeem(ctx, token, uniq('warm'));
    await nativeRedeem(target, await prosodyIssue(ctx), uniq('nwarm'), PASSWORD);
  }
  const ours: number[] = [];
  const native: number[] = [];
  // Interleaved, so load from elsewhere on the machine hits both alike.
  for (let i = 0; i < REDEEM_SAMPLES; i++) {
    const { token } = await ourIssue(ctx, { inviter: ctx.inviter });
    const username = uniq('r');
    const [ms] = await time(() => ourRedeem(ctx, token, username));
    ours.push(ms);
    if (i === 0) await assertBothWays(ctx, `${username}@${domain}`);
    const nativeToken = await prosodyIssue(ctx);
    const [nms] = await time(() => nativeRedeem(target, nativeToken, uniq('n'), PASSWORD));
    native.push(nms);
  }

  // The same use case in this process (no HTTP, no serverless-offline): what a
  // warm Lambda spends; next to it, its floor, each round trip measured bare.
  const { inProcess, floor } = await benchInProcess(ctx);

  // Cold: a fresh Node process imports the bundled handler and serves one
  // redeem; interleaved with it, the same for the floor function (import and
  // one GetItem), the least any cold start with the SDK costs.
  type ColdRun = { status: number; body: string; bootMs: number; importMs: number; firstCallMs: number };
  const coldInvoke = (bundle: string, event: unknown): ColdRun => {
    const out = spawnSync(process.execPath, [join(ROOT, 'bench', 'cold-invoke.mjs'), join(bundles, bundle), JSON.stringify(event)], {
      env: { ...process.env, ...ctx.stack.env, NODE_OPTIONS: '--disable-warning=NodeVersionSupportWarning' },
      encoding: 'utf8',
    });
    if (out.status !== 0) throw new Error(`cold ${bundle} failed: ${out.stderr}`);
    return JSON.parse(out.stdout) as ColdRun;
  };
  const cold: number[] = [];
  const coldParts: ColdRun[] = [];
  const coldFloor: number[] = [];
  for (let i = 0; i < COLD_SAMPLES; i++) {
    const { token } = await ourIssue(ctx, { inviter: ctx.inviter });
    const username = uniq('c');
    const r = coldInvoke('redeemInvite.mjs', redeemEvent(token, username));
    if (r.status !== 201) throw new Error(`cold redeem: ${r.status} ${r.body}`);
    if (i === 0) await assertBothWays(ctx, `${username}@${domain}`);
    cold.push(r.importMs + r.firstCallMs);
    coldParts.push(r);
    const f = coldInvoke('_floor.mjs', { pathParameters: { token } });
    if (f.status !== 404) throw new Error(`cold floor function: ${f.status} ${f.body}`);
    coldFloor.push(f.importMs + f.firstCallMs);
  }
  return {
    warm: summarize(ours),
    warmInProcess: inProcess,
    floor,
    cold: summarize(cold),
    coldFloor: summarize(coldFloor),
    coldBreakdown: {
      boot: summarize(coldParts.map((p) => p.bootMs)),
      import: summarize(coldParts.map((p) => p.importMs)),
      firstCall: summarize(coldParts.map((p) => p.firstCallMs)),
    },
    native: summarize(native),
  };
};

// --- In-app registration: our module vs mod_invites_register ------------------

export const benchInApp = async (ctx: Ctx, inApp: InAppSetup) => {
  const native: NativeTarget = { host: '127.0.0.1', port: ctx.prosody.c2sPort, domain: ctx.prosody.domain, caFile: ctx.prosody.caFile };
  const ourToken = async () => (await ourIssue(ctx, { domain: IN_APP_DOMAIN })).token;
  // Warm-up: serverless-offline's /xmpp/* workers, the service's admin connection, both Prosodys.
  for (let i = 0; i < 4; i++) {
    await nativeRedeem(inApp.target, await ourToken(), uniq('awarm'), PASSWORD);
    await nativeRedeem(native, await prosodyIssue(ctx), uniq('nwarm'), PASSWORD);
  }
  const ours: number[] = [];
  const theirs: number[] = [];
  const ourSteps: Partial<FlowSteps>[] = [];
  const theirSteps: Partial<FlowSteps>[] = [];
  const record = async (into: number[], steps: Partial<FlowSteps>[], flow: (s: Partial<FlowSteps>) => Promise<void>) => {
    const s: Partial<FlowSteps> = {};
    into.push((await time(() => flow(s)))[0]);
    steps.push(s);
  };
  for (let i = 0; i < IN_APP_SAMPLES; i++) {
    const [token, nativeToken] = [await ourToken(), await prosodyIssue(ctx)];
    const a = () => record(ours, ourSteps, (s) => nativeRedeem(inApp.target, token, uniq('a'), PASSWORD, s));
    const b = () => record(theirs, theirSteps, (s) => nativeRedeem(native, nativeToken, uniq('n'), PASSWORD, s));
    // Interleaved, alternating which goes first.
    if (i % 2 === 0) {
      await a();
      await b();
    } else {
      await b();
      await a();
    }
  }
  // Where our time goes: the two routes the module calls, without Prosody in between.
  const route = async (name: string, body: Record<string, unknown>, status: number) => {
    const [took, res] = await time(() =>
      http(`${ctx.baseUrl}/xmpp/${name}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${inApp.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ domain: IN_APP_DOMAIN, address: '127.0.0.1', ...body }),
      })
    );
    if (res.status !== status) throw new Error(`/xmpp/${name}: ${res.status} ${res.body}`);
    return took;
  };
  const preauth: number[] = [];
  const register: number[] = [];
  for (let i = 0; i < IN_APP_SAMPLES; i++) {
    const token = await ourToken();
    preauth.push(await route('preauth', { token }, 200));
    register.push(await route('register', { token, username: uniq('h'), password: PASSWORD }, 201));
  }
  const o = summarize(ours);
  const n = summarize(theirs);
  const steps = (all: Partial<FlowSteps>[]) =>
    Object.fromEntries(
      (['connect', 'preauth', 'register', 'login'] as const).map((k) => [k, summarize(all.map((s) => s[k] ?? NaN))])
    ) as Record<keyof FlowSteps, Summary>;
  return {
    ours: o,
    prosody: n,
    ratio: ratio(o.median, n.median),
    ourSteps: steps(ourSteps),
    prosodySteps: steps(theirSteps),
    preauthRoute: summarize(preauth),
    registerRoute: summarize(register),
  };
};

export type InAppResult = Awaited<ReturnType<typeof benchInApp>>;
