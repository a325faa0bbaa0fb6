/**
 * Each function bundled the way serverless-esbuild does it for deployment
 * (options read from serverless.yml's custom.esbuild), with a metafile: its
 * size, what it pulled in, and the time a fresh Node process takes to import
 * it, next to the floor (floorFunction.ts: one GetItem with SDK v3) bundled
 * with the same options and imported in the same rounds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { parse } from 'yaml';
import { summarize, type Summary } from './stats.js';

const tags = ['!Ref', '!GetAtt', '!Sub', '!Join'].map((tag) => ({ tag, resolve: (v: unknown) => v }));

export interface FunctionEntry {
  name: string;
  entry: string;
}

export const serverlessFunctions = (root: string): { functions: FunctionEntry[]; esbuild: Record<string, any> } => {
  const doc = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), { customTags: tags }) as {
    functions: Record<string, { handler: string }>;
    custom: { esbuild: Record<string, any> };
  };
  const functions = Object.entries(doc.functions).map(([name, f]) => ({
    name,
    entry: `${f.handler.replace(/\.[^.]+$/, '')}.ts`,
  }));
  return { functions, esbuild: doc.custom.esbuild };
};

export interface BundleReport {
  name: string;
  bytes: number;
  gzipBytes: number;
  /** Size of .serverless/<name>.zip from `npx serverless package`, if present. */
  zipBytes?: number;
  loadsXmpp: boolean;
  import: Summary;
  /** Median import time over the floor's median, same run, same rounds. */
  floorRatio: number;
}

/** The minimal SDK function (floorFunction.ts), bundled and imported like the functions. */
export interface FloorReport {
  bytes: number;
  gzipBytes: number;
  import: Summary;
}

/** What marks xmpp.js (and its SASL stack) inside a bundle. */
const XMPP_MARKERS = [/node_modules\/@xmpp\//, /node_modules\/saslmechanisms\//];

/** serverless-esbuild's own keys; every other key of custom.esbuild is an esbuild option, passed as it is. */
const PLUGIN_ONLY = new Set([
  'outputWorkFolder',
  'outputBuildFolder',
  'watch',
  'exclude',
  'packager',
  'packagerOptions',
  'outputFileExtension',
  'nativeZip',
  'installExtraArgs',
  'keepOutputDirectory',
  'disableIncremental',
  'concurrency',
  'zipConcurrency',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'buildConcurrency',
]);

export const esbuildOptions = (root: string, opts: Record<string, any>): BuildOptions => {
  const options = Object.fromEntries(Object.entries(opts).filter(([k]) => !PLUGIN_ONLY.has(k))) as BuildOptions & { plugins?: unknown };
  // As serverless-esbuild does: a path (from the service's folder) to a CommonJS file exporting the plugins.
  if (typeof options.plugins === 'string') options.plugins = createRequire(import.meta.url)(join(root, options.plugins));
  return options as BuildOptions;
};

const round2 = (x: number) => Math.round(x * 100) / 100;

export const bundleFunctions = async (
  root: string,
  outDir: string,
  env: Record<string, string>,
  importRuns: number
): Promise<{ bundles: BundleReport[]; floor: FloorReport }> => {
  const { functions, esbuild: opts } = serverlessFunctions(root);
  mkdirSync(outDir, { recursive: true });
  const entries = [...functions, { name: '_floor', entry: relative(root, fileURLToPath(new URL('./floorFunction.ts', import.meta.url))) }];
  const built: { name: string; outfile: string; loadsXmpp: boolean }[] = [];
  for (const fn of entries) {
    const outfile = join(outDir, `${fn.name}.mjs`);
    const result = await build({
      ...esbuildOptions(root, opts),
      absWorkingDir: root,
      entryPoints: [fn.entry],
      outfile,
      bundle: true,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys((result.metafile as Metafile).inputs);
    built.push({ name: fn.name, outfile, loadsXmpp: inputs.some((i) => XMPP_MARKERS.some((m) => m.test(i))) });
  }
  // Interleaved rounds: load from elsewhere on the machine falls on the floor and the functions alike.
  const samples = new Map<string, number[]>(built.map((b) => [b.name, []]));
  for (let i = 0; i < importRuns; i++) for (const b of built) samples.get(b.name)!.push(importTime(b.outfile, env));
  const sizes = (file: string) => {
    const code = readFileSync(file);
    return { bytes: code.length, gzipBytes: gzipSync(code).length };
  };
  const floorBuilt = built.pop()!;
  const floor: FloorReport = { ...sizes(floorBuilt.outfile), import: summarize(samples.get(floorBuilt.name)!) };
  const bundles = built.map((b): BundleReport => {
    const zip = join(root, '.serverless', `${b.name}.zip`);
    const imported = summarize(samples.get(b.name)!);
    return {
      name: b.name,
      ...sizes(b.outfile),
      zipBytes: existsSync(zip) ? statSync(zip).size : undefined,
      loadsXmpp: b.loadsXmpp,
      import: imported,
      floorRatio: round2(imported.median / floor.import.median),
    };
  });
  return { bundles, floor };
};
/** Milliseconds a fresh Node process spends importing the bundle (module scope included). */
export const importTime = (file: string, env: Record<string, string>): number => {
  const script = `const t = performance.now(); await import(${JSON.stringify(`file://${file}`)}); process.stdout.write(String(performance.now() - t)); process.exit(0);`;
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...env, NODE_OPTIONS: '--disable-warning=NodeVersionSupportWarning' },
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`importing ${file} failed: ${out.stderr}`);
  return Number(out.stdout);
};
