/**
 * Each function bundled the way serverless-esbuild does it for deployment
 * (options read from serverless.yml's custom.esbuild), with a metafile: its
 * size, what it pulled in, and the time a fresh Node process takes to import it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
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
}

/** What marks xmpp.js (and its SASL stack) inside a bundle. */
const XMPP_MARKERS = [/node_modules\/@xmpp\//, /node_modules\/saslmechanisms\//];

export const bundleFunctions = async (
  root: string,
  outDir: string,
  env: Record<string, string>,
  importRuns: number
): Promise<BundleReport[]> => {
  const { functions, esbuild: opts } = serverlessFunctions(root);
  mkdirSync(outDir, { recursive: true });
  const reports: BundleReport[] = [];
  for (const fn of functions) {
    const outfile = join(outDir, `${fn.name}.mjs`);
    const result = await build({
      absWorkingDir: root,
      entryPoints: [fn.entry],
      outfile,
      bundle: true,
      minify: Boolean(opts.minify),
      sourcemap: false,
      format: 'esm',
      platform: 'node',
      target: opts.target ?? 'node22',
      banner: opts.banner,
      metafile: true,
      logLevel: 'silent',
    });
    const meta = result.metafile as Metafile;
    const inputs = Object.keys(meta.inputs);
    const code = readFileSync(outfile);
    const loadsXmpp = inputs.some((i) => XMPP_MARKERS.some((m) => m.test(i)));
    const zip = join(root, '.serverless', `${fn.name}.zip`);
    const samples: number[] = [];
    for (let i = 0; i < importRuns; i++) samples.push(importTime(outfile, env));
    reports.push({
      name: fn.name,
      bytes: code.length,
      gzipBytes: gzipSync(code).length,
      zipBytes: existsSync(zip) ? statSync(zip).size : undefined,
      loadsXmpp,
      import: summarize(samples),
    });
  }
  return reports;
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
