/**
 * `npm run bench`: measured speed, side by side with Prosody's own invite
 * suite, on one machine in one run against one local stack (DynamoDB Local,
 * a private Prosody with mod_invites*, a second with mod_xmpp_invites,
 * serverless-offline). Not a test. This file runs it: it starts the stack,
 * takes the measurements (measureRedeem.ts, measureLoad.ts), has them judged
 * against the targets (targets.ts) and reported (report.ts): printed,
 * compared with the previous run, written to bench/results.json and to
 * docs/benchmarks.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { ProsodyProvisioner } from '../lib/adapters/xmpp/ProsodyProvisioner.js';
import { type LocalProsody, startProsody } from '../scripts/local/prosody.js';
import { prosodyEnv, ROOT, type Stack, startStack } from '../scripts/local/stack.js';
import {
  CHECK_REQUESTS,
  CLIENTS,
  COLD_SAMPLES,
  type Ctx,
  IMPORT_SAMPLES,
  ISSUE_SECONDS,
  log,
  ms,
  PASSWORD,
  REDEEM_SAMPLES,
  SEED,
  uniq,
} from './common.js';
import { bundleFunctions } from './lib/bundles.js';
import { IN_APP_DOMAIN, type InAppSetup, startInAppProsody } from './lib/inApp.js';
import { closeHttp, runCount } from './lib/stats.js';
import { benchCheck, benchCost, benchIssue, benchRateLimits, checkOnce, checkTokens } from './measureLoad.js';
import { benchInApp, benchInProcess, benchRedeem } from './measureRedeem.js';
import { type Machine, PAGE, printBundles, printDeltas, printInApp, printRun, printWarm, RESULTS, type Run, writePage } from './report.js';
import { judge, type Measured } from './targets.js';

/** Every request of a run comes from 127.0.0.1: limits no benchmark reaches. */
const NO_LIMITS = Object.fromEntries(
  ['CHECK', 'REDEEM', 'LANDING'].flatMap((r) => [
    [`RATE_LIMIT_${r}_PER_IP`, '100000000'],
    [`RATE_LIMIT_${r}_PER_TOKEN`, '100000000'],
  ])
);

/** mod_invites_api's key for the bench. prosodyctl may print warnings on stdout first (a missing optional Lua library, say): the key is the last line that looks like one. */
const prosodyApiKey = (prosody: LocalProsody): string => {
  const ctlOutput = prosody.ctl('mod_invites_api', 'create', prosody.domain, 'bench');
  const key = ctlOutput
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[A-Za-z0-9+/=_-]{16,}$/.test(l))
    .pop();
  if (!key) throw new Error(`mod_invites_api printed no key:\n${ctlOutput}`);
  return key;
};

/** `BENCH_QUICK=1` (development): the warm redeem against its floor, in-app registration, the cost rows; nothing written. */
const quick = async (ctx: Ctx, inApp: InAppSetup) => {
  const warm = await benchInProcess(ctx);
  printWarm(warm.inProcess, warm.floor);
  printInApp(await benchInApp(ctx, inApp));
  for (const [name, c] of Object.entries(await benchCost(ctx))) {
    log(`  ${name.padEnd(38)} read ${c.read} (table ${c.tableRead})  write ${c.write} (table ${c.tableWrite})  ${c.detail.join('; ')}`);
  }
};

/**
 * `BENCH_ONLY=<target>` (development): one measurement alone, printed, nothing
 * written. `warm-redeem`: the redeem use case in-process against its floor;
 * `bundles`: bundle sizes and import times against the floor function.
 */
const ONLY = {
  'warm-redeem': async (ctx: Ctx) => {
    const warm = await benchInProcess(ctx);
    printWarm(warm.inProcess, warm.floor);
  },
  bundles: async (ctx: Ctx) => {
    const { bundles, floor } = await bundleFunctions(ROOT, join(ROOT, '.local', 'bench', 'bundles'), ctx.stack.env, IMPORT_SAMPLES);
    printBundles(bundles, floor);
  },
} as const satisfies Record<string, (ctx: Ctx) => Promise<void>>;

const only = (): keyof typeof ONLY | undefined => {
  const name = process.env.BENCH_ONLY;
  if (name === undefined || name === '') return undefined;
  if (!(name in ONLY)) throw new Error(`BENCH_ONLY=${name}: expected one of ${Object.keys(ONLY).join(', ')}`);
  return name as keyof typeof ONLY;
};

/** Every measurement of a full run, in order, each logged as it ends. */
const measureAll = async (ctx: Ctx, inApp: InAppSetup): Promise<Measured> => {
  log('- bundling every function (serverless.yml esbuild options) and timing imports');
  const bundleDir = join(ROOT, '.local', 'bench', 'bundles');
  const { bundles, floor: importFloor } = await bundleFunctions(ROOT, bundleDir, ctx.stack.env, IMPORT_SAMPLES);

  log('- redeem end to end: ours (HTTP, account + roster both/both) vs Prosody (preauth + IBR + login)');
  const redeem = await benchRedeem(ctx, bundleDir);
  log(`  warm ${ms(redeem.warm)}, cold ${ms(redeem.cold)}, Prosody ${ms(redeem.native)} (median / p95 ms)`);
  log(`  in-process ${ms(redeem.warmInProcess)}, its floor ${ms(redeem.floor.sum)} (median / p95 ms)`);
  log(`- in-app registration: the same scripted app through mod_xmpp_invites (${IN_APP_DOMAIN}) and through mod_invites_register`);
  const inAppResult = await benchInApp(ctx, inApp);
  log(`  ours ${ms(inAppResult.ours)}, Prosody ${ms(inAppResult.prosody)} (median / p95 ms)`);
  log(`- check: ${CHECK_REQUESTS} GET /invites/{token}, ${CLIENTS} clients`);
  const check = await benchCheck(ctx);
  log(`  ${ms(check.latency)} (median / p95 ms); one client: ${ms(check.sequential)}`);
  log('- cost: consumed capacity per use case');
  const cost = await benchCost(ctx);
  const rateLimits = await benchRateLimits(ctx);
  log(`  rate limits of one public request: ${ms(rateLimits)} (p50 / p95 ms)`);
  log(`- issue: invites per second, ${CLIENTS} clients, ${ISSUE_SECONDS} s each`);
  const issue = await benchIssue(ctx);
  log(`- check again, one client, ${SEED} stored`);
  const check10k = (await runCount(1, 200, checkOnce(ctx, await checkTokens(ctx)))).latency;

  return { redeem, inApp: inAppResult, issue, check, check10k, bundles, importFloor, cost, rateLimits };
};

const main = async () => {
  const started = Date.now();
  // Before anything starts: a misspelt target fails at once.
  const selected = only();
  const machine: Machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    os: `${osType()} ${release()}`,
    node: process.version,
  };
  log(`xmpp-invites benchmark, ${new Date().toISOString()} on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}`);
  log('Numbers from a shared 2-core machine are noisy: compare ratios more than absolutes.\n');

  log('- starting a private Prosody with its own invite modules (mod_invites, mod_invites_register, mod_invites_api)');
  const prosody = await startProsody({ withInvites: true });
  let stack: Stack | undefined;
  let admin: ProsodyProvisioner | undefined;
  let inApp: InAppSetup | undefined;
  try {
    log(`- starting a second private Prosody (${IN_APP_DOMAIN}) with this repository's mod_xmpp_invites`);
    inApp = await startInAppProsody();
    log('- starting DynamoDB Local and serverless-offline');
    stack = await startStack({
      prosody: false,
      port: inApp.port,
      env: {
        ...prosodyEnv(prosody),
        ...inApp.env(prosody),
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        POWERTOOLS_METRICS_DISABLED: 'true',
        ...NO_LIMITS,
      },
    });
    const prosodyKey = prosodyApiKey(prosody);
    admin = ProsodyProvisioner.at({ ...prosody, password: () => prosody.adminPassword, timeoutMs: 5000, tlsCaFile: prosody.caFile });
    const inviter = `${uniq('inviter')}@${prosody.domain}`;
    await admin.createAccount(inviter, PASSWORD);
    await inApp.registerKey(stack.env);
    const ctx: Ctx = { stack, prosody, baseUrl: stack.baseUrl as string, prosodyKey, inviter, admin };

    if (process.env.BENCH_QUICK) return await quick(ctx, inApp);
    if (selected) return await ONLY[selected](ctx);

    const { results, targets, leaks } = judge(await measureAll(ctx, inApp));
    printRun(results, targets);

    const current: Run = {
      date: new Date().toISOString(),
      machine,
      settings: { CLIENTS, REDEEM_SAMPLES, COLD_SAMPLES, ISSUE_SECONDS, CHECK_REQUESTS, SEED },
      results,
      targets,
    };
    if (existsSync(RESULTS)) printDeltas(JSON.parse(readFileSync(RESULTS, 'utf8')), current);
    writeFileSync(RESULTS, `${JSON.stringify(current, null, 2)}\n`);
    writePage(current);
    log(`\nWrote ${RESULTS} and ${PAGE} (${Math.round((Date.now() - started) / 1000)} s).`);
    if (leaks.length > 0) process.exitCode = 1;
  } finally {
    closeHttp();
    await admin?.close();
    await stack?.stop();
    await inApp?.prosody.stop();
    await prosody.stop();
  }
};

await main();
