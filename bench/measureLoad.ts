/**
 * The load and cost measurements: issue throughput (ours against
 * mod_invites_api, empty and with 10,000 stored), check latency, the
 * DynamoDB capacity each use case consumes, and what rate limiting adds.
 */
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { enforceRateLimits, tokenRateKey } from '../lib/abuse/rateLimit.js';
import { DynamoDBApiKeyStore } from '../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { DynamoDBInviteStore } from '../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { DynamoDBRateLimiter } from '../lib/adapters/dynamodb/DynamoDBRateLimiter.js';
import { toItem } from '../lib/adapters/dynamodb/inviteItems.js';
import { claimKeyResolver } from '../lib/adapters/aws/secrets.js';
import { ProvisionerRegistryFromConfig } from '../lib/adapters/xmpp/ProvisionerRegistry.js';
import { authenticate } from '../lib/apiKeys/apiKeys.js';
import { loadConfig } from '../lib/config.js';
import type { Invite } from '../lib/invites/Invite.js';
import { issueInvite } from '../lib/invites/issue.js';
import { findLiveInvite } from '../lib/invites/lookup.js';
import { redeemInvite } from '../lib/invites/redeem.js';
import { systemClock } from '../lib/ports/Clock.js';
import { generateToken, hashToken } from '../lib/token.js';
import { type Consumed, meteredClient } from './lib/capacity.js';
import { http, runConcurrent, runCount, summarize, time } from './lib/stats.js';
import { CHECK_REQUESTS, CLIENTS, type Ctx, ISSUE_SECONDS, log, ms, ourIssue, PASSWORD, prosodyIssue, SEED, uniq } from './common.js';

/**
 * serverless-offline, like Lambda, serves concurrent requests with one
 * instance (worker) each: 32 clients need 32 instances, each a cold start.
 * Bring them up a few at a time, so that they do not all start at once on
 * two cores (and time out), and so that the measurement sees warm ones.
 */
const rampUp = async (fn: (i: number) => Promise<void>) => {
  for (const clients of [2, 4, 8, 16, CLIENTS]) await runCount(clients, clients * 3, fn, true);
};

// --- Issue throughput ---------------------------------------------------------

const seedOurs = async (ctx: Ctx, count: number) => {
  const { doc } = meteredClient(ctx.stack.env.AWS_ENDPOINT_URL_DYNAMODB as string);
  const now = systemClock.now();
  const items = Array.from({ length: count }, () => {
    const invite: Invite = {
      id: hashToken(generateToken()),
      type: 'account',
      domain: ctx.prosody.domain,
      maxUses: 1,
      uses: 0,
      pending: 0,
      expiresAt: now + 7 * 24 * 3600,
      createdAt: now,
      groups: [],
      roles: [],
      source: 'bench:seed',
    };
    return toItem(invite);
  });
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  await runCount(8, batches.length, async (i) => {
    let request: Record<string, any> | undefined = {
      [ctx.stack.env.INVITES_TABLE as string]: batches[i]!.map((Item) => ({ PutRequest: { Item } })),
    };
    while (request && Object.keys(request).length > 0) {
      const out: { UnprocessedItems?: Record<string, any> } = await doc.send(new BatchWriteCommand({ RequestItems: request }));
      request = out.UnprocessedItems;
    }
  });
};

/** mod_invites keeps every account invite in one map store: data/<host>/invite_token.dat. */
const seedProsody = (ctx: Ctx, count: number) => {
  const file = join(ctx.prosody.dir, 'data', ctx.prosody.domain, 'invite_token.dat');
  if (!existsSync(file)) throw new Error(`no ${file}: did mod_invites store anything?`);
  const now = Math.floor(Date.now() / 1000);
  const entries: string[] = [];
  for (let i = 0; i < count; i++) {
    const token = randomBytes(18).toString('base64url');
    entries.push(
      `[${JSON.stringify(token)}] = { ["type"] = "register"; ["jid"] = ${JSON.stringify(ctx.prosody.domain)}; ["token"] = ${JSON.stringify(token)}; ` +
        `["allow_registration"] = true; ["additional_data"] = { ["source"] = "bench/seed"; }; ` +
        `["uri"] = ${JSON.stringify(`xmpp:${ctx.prosody.domain}?register;preauth=${token}`)}; ["created_at"] = ${now}; ["expires"] = ${now + 7 * 86400}; };`
    );
  }
  const { uid, gid } = statSync(file);
  writeFileSync(file, `return {\n${entries.join('\n')}\n};\n`);
  chownSync(file, uid, gid);
};

export const benchIssue = async (ctx: Ctx) => {
  const run = async (fn: () => Promise<unknown>) => {
    const r = await runConcurrent(CLIENTS, ISSUE_SECONDS * 1000, async () => void (await fn()));
    log(`    ${r.perSecond}/s, latency ${ms(r.latency)} ms${r.errors ? `, ${r.errors} errors` : ''}`);
    return r;
  };
  await rampUp(async () => void (await ourIssue(ctx)));
  log('  issue: ours, store ~empty');
  const oursEmpty = await run(() => ourIssue(ctx));
  log('  issue: Prosody, store ~empty');
  const prosodyEmpty = await run(() => prosodyIssue(ctx));
  log(`  seeding ${SEED} invites into each store`);
  const [seedOursMs] = await time(() => seedOurs(ctx, SEED));
  seedProsody(ctx, SEED);
  log(`  issue: ours, ${SEED} stored`);
  // The workers may have been retired while seeding: bring them up again.
  await rampUp(async () => void (await ourIssue(ctx)));
  const ours10k = await run(() => ourIssue(ctx));
  log(`  issue: Prosody, ${SEED} stored`);
  const prosody10k = await run(() => prosodyIssue(ctx));
  return { oursEmpty, prosodyEmpty, ours10k, prosody10k, seedOursMs: Math.round(seedOursMs) };
};

// --- Check latency ------------------------------------------------------------

export const checkTokens = async (ctx: Ctx) => {
  const tokens: string[] = [];
  await runCount(4, 64, async () => void tokens.push((await ourIssue(ctx)).token));
  return tokens;
};

export const checkOnce = (ctx: Ctx, tokens: string[]) => async (i: number) => {
  const res = await http(`${ctx.baseUrl}/invites/${tokens[i % tokens.length]}`);
  if (res.status !== 200) throw new Error(`check: ${res.status} ${res.body}`);
};

export const benchCheck = async (ctx: Ctx) => {
  const tokens = await checkTokens(ctx);
  await rampUp(async (i) => void (await http(`${ctx.baseUrl}/invites/${tokens[i % tokens.length]}`)));
  const one = checkOnce(ctx, tokens);
  const concurrent = await runCount(CLIENTS, CHECK_REQUESTS, one);
  const sequential = await runCount(1, 200, one);
  return { ...concurrent, sequential: sequential.latency };
};

// --- Cost: consumed capacity per use case -------------------------------------

export const benchCost = async (ctx: Ctx) => {
  const env = ctx.stack.env;
  const metered = meteredClient(env.AWS_ENDPOINT_URL_DYNAMODB as string);
  const tableName = env.INVITES_TABLE as string;
  const store = new DynamoDBInviteStore({ tableName, client: metered.doc });
  const keys = new DynamoDBApiKeyStore({ tableName, client: metered.doc });
  const limiter = new DynamoDBRateLimiter({ tableName, client: metered.doc });
  const config = loadConfig({ ...env });
  const xmpp = new ProvisionerRegistryFromConfig(config.xmpp, { tlsCaFile: config.xmppTlsCaFile });
  const clock = systemClock;
  const limits = async (route: 'check' | 'redeem', token: string) =>
    enforceRateLimits(
      { limiter, clock },
      [
        { key: `${route}#ip#127.0.0.1`, limit: 1e9 },
        { key: `${route}#token#${tokenRateKey(token)}`, limit: 1e9 },
      ],
      60
    );
  const rows: Record<string, Consumed> = {};
  const measure = async (name: string, fn: () => Promise<unknown>) => {
    metered.take();
    await fn();
    rows[name] = metered.take();
  };
  try {
    // Warm the admin connection so the rows show steady state.
    await xmpp.forDomain(ctx.prosody.domain);
    let token = '';
    await measure('issue: authenticate API key', () => authenticate(keys, `Bearer ${ctx.stack.apiKey}`));
    await measure('issue: invite (admin key)', async () => {
      const actor = { source: 'bench', domains: ['*'], admin: true };
      token = (await issueInvite({ store, clock, config }, actor, { inviter: ctx.inviter })).token;
    });
    await measure('issue: invite, preset username', () =>
      issueInvite({ store, clock, config }, { source: 'bench', domains: ['*'], admin: true }, { username: uniq('p') })
    );
    await measure('issue: invite, quota-limited key', () =>
      issueInvite({ store, clock, config }, { source: `api-key:${uniq('b')}`, domains: ['*'], admin: false, maxLiveInvites: 100 }, {})
    );
    await measure('check: rate limits', () => limits('check', token));
    await measure('check: lookup', () => findLiveInvite({ store, clock }, token));
    await measure('redeem: rate limits', () => limits('redeem', token));
    await measure('redeem: claim, provision, complete', () =>
      redeemInvite({ store, xmpp, clock, config, claimKey: claimKeyResolver(config) }, token, {
        username: uniq('cost'),
        password: PASSWORD,
      })
    );
  } finally {
    await xmpp.close();
  }
  return rows;
};

/** What rate limiting adds to each public request: two counters (per address, per token), written in parallel. */
export const benchRateLimits = async (ctx: Ctx) => {
  const limiter = new DynamoDBRateLimiter({ tableName: ctx.stack.env.INVITES_TABLE as string, client: plainClient(ctx) });
  const token = generateToken();
  const samples: number[] = [];
  for (let i = 0; i < 60; i++) {
    const [took] = await time(() =>
      enforceRateLimits(
        { limiter, clock: systemClock },
        [
          { key: 'redeem#ip#127.0.0.1', limit: 1e9 },
          { key: `redeem#token#${tokenRateKey(token)}`, limit: 1e9 },
        ],
        60
      )
    );
    if (i >= 10) samples.push(took);
  }
  return summarize(samples);
};

const plainClient = (ctx: Ctx) =>
  DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: ctx.stack.env.AWS_ENDPOINT_URL_DYNAMODB,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    })
  );
