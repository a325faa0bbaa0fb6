/**
 * The bench's report: what a run prints, how it compares with the previous
 * run, and docs/benchmarks.md, which the bench writes whole from a run's
 * results. Run on its own (`npm run bench:report`), it rewrites that page
 * from bench/results.json without measuring anything.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FloorReport } from './lib/floors.js';
import { alignTables } from './lib/markdown.js';
import type { FlowSteps } from './lib/nativeFlow.js';
import type { Summary } from './lib/stats.js';
import { CLIENTS, kb, log, ms, ratio, SEED } from './common.js';
import type { InAppResult } from './measureRedeem.js';
import { type Results, standing, type Target } from './targets.js';

const ROOT = resolve(import.meta.dirname, '..');
export const RESULTS = join(ROOT, 'bench', 'results.json');
export const PAGE = join(ROOT, 'docs', 'benchmarks.md');

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  node: string;
}

/** One run as bench/results.json keeps it. */
export interface Run {
  date: string;
  machine: Machine;
  settings: Record<string, number>;
  results: Results;
  targets: Target[];
}

// --- The console --------------------------------------------------------------

const flatten = (value: unknown, prefix = '', out: Record<string, number> = {}) => {
  if (typeof value === 'number') out[prefix] = value;
  else if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) flatten(v, `${prefix}[${(v as { name?: string })?.name ?? i}]`, out);
  }
  return out;
};

export const printDeltas = (previous: unknown, current: unknown) => {
  const before = flatten((previous as { results?: unknown })?.results);
  const after = flatten((current as { results?: unknown }).results);
  const lines = Object.entries(after)
    .filter(
      ([k, v]) =>
        before[k] !== undefined && before[k] !== v && /median|perSecond|Bytes$|bytes$|\.read$|\.write$|ratio|speedup|Slowdown/i.test(k)
    )
    .map(([k, v]) => {
      const b = before[k] as number;
      const pct = b === 0 ? (v === 0 ? 0 : Infinity) : ((v - b) / b) * 100;
      return `  ${k}: ${v} (was ${b}, ${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%)`;
    });
  log(`\nChanges since the previous run (${(previous as { date?: string }).date}):`);
  log(lines.length > 0 ? lines.join('\n') : '  (nothing comparable)');
};

export const printWarm = (inProcess: Summary, floor: FloorReport) => {
  log('\nWarm redeem in-process against its floor (ms, median / p95; each round trip measured bare, same run)');
  log(`  claim transaction (TransactWriteItems, 2 items)      ${ms(floor.claim)}`);
  log(`  account creation (add-user over a warm admin c2s)   ${ms(floor.account)}`);
  log(`  roster writes, both in parallel (XEP-0356)          ${ms(floor.rosters)}`);
  log(`  completion transaction (TransactWriteItems, 3 items) ${ms(floor.complete)}`);
  log(`  floor: their sum                                    ${ms(floor.sum)}`);
  log(`  redeem use case in-process                          ${ms(inProcess)}   n=${inProcess.n}`);
  log(`  ratio redeem / floor: ${ratio(inProcess.median, floor.sum.median)}x (target <= 1.3x)`);
};

const stepLine = (s: Record<keyof FlowSteps, Summary>) =>
  `connect+TLS ${s.connect.median}, preauth ${s.preauth.median}, register ${s.register.median}, login ${s.login.median}`;

export const printInApp = (r: InAppResult) => {
  log('\nIn-app registration, the same scripted app (connect, STARTTLS, preauth, IBR, login) (ms, median / p95)');
  log(`  through mod_xmpp_invites and the service  ${ms(r.ours)}   n=${r.ours.n}   [${stepLine(r.ourSteps)}]`);
  log(`  Prosody's own mod_invites_register        ${ms(r.prosody)}   n=${r.prosody.n}   [${stepLine(r.prosodySteps)}]`);
  log(`  ratio ours / Prosody: ${r.ratio}x (target <= 1.5x)`);
  log(`  of ours, the module's two calls alone: POST /xmpp/preauth ${ms(r.preauthRoute)}, POST /xmpp/register ${ms(r.registerRoute)}`);
};

/** Bundle sizes and import times against the floor function's. */
export const printBundles = (bundles: Results['bundles'], importFloor: Results['importFloor']) => {
  log('\nBundles (esbuild, serverless.yml options) and import time in a fresh Node (ms, median / p95; interleaved rounds)');
  log(
    `  floor: one GetItem, SDK v3 DocumentClient, same options ${kb(importFloor.bytes).padStart(8)} (gzip ${kb(importFloor.gzipBytes)})  import ${ms(importFloor.import)}`
  );
  for (const b of bundles) {
    log(
      `  ${b.name.padEnd(14)} ${kb(b.bytes).padStart(8)} (gzip ${kb(b.gzipBytes)}${b.zipBytes ? `, zip ${kb(b.zipBytes)}` : ''})  import ${ms(b.import)} = ${b.floorRatio}x floor  xmpp.js: ${b.loadsXmpp ? 'yes' : 'no'}`
    );
  }
};

/** Everything a full run measured, then the targets met and missed. */
export const printRun = (results: Results, targets: Target[]) => {
  const { redeem, issue, check, bundles, importFloor, cost } = results;
  const inAppResult = results.inApp;
  const check10k = check.sequential10k;
  log('\nRedeem end to end (ms, median / p95)');
  log(`  ours, warm (HTTP, serverless-offline)   ${ms(redeem.warm)}   n=${redeem.warm.n}`);
  log(`  ours, warm use case in-process (no HTTP) ${ms(redeem.warmInProcess)}   n=${redeem.warmInProcess.n}`);
  log(
    `  ours, cold (fresh node: import + call)  ${ms(redeem.cold)}   n=${redeem.cold.n}  [node boot ${redeem.coldBreakdown.boot.median}, import ${redeem.coldBreakdown.import.median}, first call ${redeem.coldBreakdown.firstCall.median}]`
  );
  log(`  Prosody's own flow                      ${ms(redeem.native)}   n=${redeem.native.n}`);
  log(
    `  speed-up: warm ${results.redeem.speedupWarm}x, cold ${results.redeem.speedupCold}x (cold takes ${results.redeem.coldOverNative}x Prosody's time)`
  );
  printWarm(redeem.warmInProcess, redeem.floor);
  printInApp(inAppResult);
  log(`\nIssue, ${CLIENTS} concurrent clients (invites/s; latency p50 / p95 ms)`);
  const issueLine = (label: string, r: { perSecond: number; latency: Summary; errors: number }) =>
    log(`  ${label.padEnd(38)} ${String(r.perSecond).padStart(8)}/s   ${ms(r.latency)}${r.errors ? `   errors ${r.errors}` : ''}`);
  issueLine('ours, store ~empty', issue.oursEmpty);
  issueLine('mod_invites_api, store ~empty', issue.prosodyEmpty);
  issueLine(`ours, ${SEED} stored`, issue.ours10k);
  issueLine(`mod_invites_api, ${SEED} stored`, issue.prosody10k);
  log(
    `  ratio ours/Prosody: empty ${results.issue.ratioEmpty}x, ${SEED} stored ${results.issue.ratio10k}x; ours empty/10k ${results.issue.oursSlowdown10k}x, Prosody ${results.issue.prosodySlowdown10k}x`
  );
  log(
    `\nCheck GET /invites/{token} (p50 / p95 ms), ${CLIENTS} clients: ${ms(check.latency)}, ${check.perSecond}/s; one client: ${ms(check.sequential)}; one client, ${SEED} stored: ${ms(check10k)}`
  );
  printBundles(bundles, importFloor);
  log('\nDynamoDB consumed capacity (ReturnConsumedCapacity=INDEXES, DynamoDB Local)');
  for (const [name, c] of Object.entries(cost)) {
    log(`  ${name.padEnd(38)} read ${c.read} (table ${c.tableRead})  write ${c.write} (table ${c.tableWrite})  ${c.detail.join('; ')}`);
  }
  log('\nTargets');
  for (const t of targets) log(`  ${t.ok ? 'MET ' : 'MISS'}  ${t.what}: ${t.value}`);
};

// --- docs/benchmarks.md -------------------------------------------------------

/** A rate, and how many requests failed meanwhile (serverless-offline's own timeouts under load count here). */
const withErrors = (r: { perSecond: number; errors: number }) => (r.errors ? `${r.perSecond} (${r.errors} errors)` : `${r.perSecond}`);

export const benchmarksPage = (date: string, machine: Machine, r: Results, targets: Target[]): string => {
  const i = r.issue;
  const f = r.redeem.floor;
  const a = r.inApp;
  const row = (...cells: unknown[]) => `| ${cells.join(' | ')} |`;
  return alignTables(`# Benchmarks

\`npm run bench\` (not part of \`npm test\`) measures each figure below against one local stack
(DynamoDB Local, serverless-offline, two private Prosody 0.12: one with Prosody's own invite modules,
one with this repository's \`mod_xmpp_invites\`), side by side with what it is compared to, in one run;
it prints p50 / p95 and the ratios, compares them with the previous run (\`bench/results.json\`) and
rewrites this page (\`npm run bench:report\` rewrites it from \`bench/results.json\` alone, measuring nothing;
\`BENCH_ONLY=warm-redeem\` or \`BENCH_ONLY=bundles\` runs one measurement alone and writes nothing).

Measured ${date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores, shared; ${machine.memoryGb} GB), ${machine.os}, Node ${machine.node}.
Loopback only; a 2-core machine shared with other work is noisy: read the ratios (each taken within the run,
samples interleaved) more than the absolute numbers.

Targets:

${targets.map((t) => `- ${t.ok ? 'met' : '**missed**'}: ${t.what}: ${t.value}`).join('\n')}

## What stands in the way of the missed targets

${standing(r)}

## Warm redeem against its floor

The use case in-process (what a warm Lambda spends, no HTTP layer), interleaved sample by sample with the
round trips it cannot avoid, each measured bare over the same DynamoDB client and a warm admin c2s connection
to the same Prosody. They must follow one another: the claim before any account exists, the account before
its roster, the completion only once the invite's promise is kept.

| p50 / p95 ms | |
|---|---|
${row('claim: TransactWriteItems (take a use, lock the JID)', ms(f.claim))}
${row('account: XEP-0133 add-user', ms(f.account))}
${row('rosters: both roster sets (XEP-0356), in parallel', ms(f.rosters))}
${row('completion: TransactWriteItems (claim completed, invite, audit record)', ms(f.complete))}
${row('**floor**: their sum, per sample', ms(f.sum))}
${row('**redeem use case**, in-process', ms(r.redeem.warmInProcess))}
${row('ratio (p50 over p50)', `${r.redeem.floorRatio}x`)}

## In-app registration: mod_xmpp_invites against mod_invites_register

The same scripted app (bench/lib/nativeFlow.ts: connect, STARTTLS, the \`urn:xmpp:pars:0\` preauth IQ,
in-band registration, log in) against each server, interleaved, after a warm-up of both; the token comes
from \`POST /invites\` or from mod_invites_api, outside the timing. Through our module, preauth and
registration each wait for the service (\`POST /xmpp/preauth\`, \`POST /xmpp/register\`), which creates
the account through its admin connection.

| p50 / p95 ms | through mod_xmpp_invites + the service | Prosody's mod_invites_register | ratio |
|---|---|---|---|
${row('whole flow', ms(a.ours), ms(a.prosody), `${a.ratio}x`)}
${(['connect', 'preauth', 'register', 'login'] as const).map((k) => row(k === 'connect' ? 'connect + STARTTLS' : k, ms(a.ourSteps[k]), ms(a.prosodySteps[k]), `${ratio(a.ourSteps[k].median, a.prosodySteps[k].median)}x`)).join('\n')}
${row('of which the service: `POST /xmpp/preauth`, called directly', ms(a.preauthRoute), '-', '-')}
${row('of which the service: `POST /xmpp/register`, called directly', ms(a.registerRoute), '-', '-')}

## Redeem end to end, issue, check

| what | ours | Prosody | ratio |
|---|---|---|---|
${row('redeem over HTTP, warm (p50 / p95 ms)', ms(r.redeem.warm), ms(r.redeem.native), `${r.redeem.speedupWarm}x faster`)}
${row(`redeem, cold: fresh Node imports the bundle + first call (import ${r.redeem.coldBreakdown.import.median}, first call ${r.redeem.coldBreakdown.firstCall.median}) (p50 / p95 ms)`, ms(r.redeem.cold), ms(r.redeem.native), `${r.redeem.coldOverNative}x as long`)}
${row('issue, 32 clients, store ~empty (invites/s)', withErrors(i.oursEmpty), withErrors(i.prosodyEmpty), `${i.ratioEmpty}x`)}
${row('issue, 32 clients, store ~empty (p50 / p95 ms)', ms(i.oursEmpty.latency), ms(i.prosodyEmpty.latency), '-')}
${row('issue, 32 clients, 10,000 stored (invites/s)', withErrors(i.ours10k), withErrors(i.prosody10k), `${i.ratio10k}x`)}
${row('issue, 32 clients, 10,000 stored (p50 / p95 ms)', ms(i.ours10k.latency), ms(i.prosody10k.latency), '-')}
${row('check `GET /invites/{token}`, 32 clients (p50 / p95 ms)', ms(r.check.latency), '-', '-')}
${row('check `GET /invites/{token}`, one client (p50 / p95 ms)', ms(r.check.sequential), '-', '-')}
${row('check `GET /invites/{token}`, one client, 10,000 stored (p50 / p95 ms)', ms(r.check.sequential10k), '-', '-')}

Throughput and latency under 32 clients are bounded by the local stand-ins: serverless-offline runs each
concurrent request in its own worker thread, on the same 2 cores as DynamoDB Local (Java) and Prosody; on
AWS every concurrent request gets its own Lambda instance and DynamoDB is a service.
Ours: HTTP redeem creates the account and sets roster subscription both ways with the inviter.
Prosody: token from mod_invites_api, then a client connects, sends the \`urn:xmpp:pars:0\` preauth IQ,
registers in-band and logs in (an account invite: no roster step).

| function | bundle | gzip | import in fresh Node (median ms) | / floor | loads xmpp.js |
|---|---|---|---|---|---|
| floor: one GetItem (SDK v3 DocumentClient) | ${kb(r.importFloor.bytes)} | ${kb(r.importFloor.gzipBytes)} | ${r.importFloor.import.median} | 1x | no |
${r.bundles.map((b) => `| ${b.name} | ${kb(b.bytes)} | ${kb(b.gzipBytes)} | ${b.import.median} | ${b.floorRatio}x | ${b.loadsXmpp ? 'yes' : 'no'} |`).join('\n')}

## DynamoDB capacity

Consumed capacity as DynamoDB Local reports it (\`ReturnConsumedCapacity: INDEXES\`); why each write
unit of a redeem is there: [What a redeem writes](design/exactly-once.md#what-a-redeem-writes). Rate limits of one public request
(two counters, written in parallel): ${ms(r.rateLimits)} ms (p50 / p95).

| units | read (table) | write (table) | where the units went |
|---|---|---|---|
${Object.entries(r.cost)
  .map(([k, c]) => row(k, `${c.read} (${c.tableRead})`, `${c.write} (${c.tableWrite})`, c.detail.join('; ')))
  .join('\n')}
`);
};

/** Rewrites docs/benchmarks.md from a run. */
export const writePage = (run: Run, path = PAGE) => {
  writeFileSync(path, `${benchmarksPage(run.date, run.machine, run.results, run.targets).trimEnd()}\n`);
};

// `npm run bench:report`: the page again from the last run's results, nothing measured.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  writePage(JSON.parse(readFileSync(RESULTS, 'utf8')) as Run);
  log(`Wrote ${PAGE} from ${RESULTS}.`);
}
