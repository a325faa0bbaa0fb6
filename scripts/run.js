#!/usr/bin/env node
// Entry point of `npm start`, `npm test` and `npm run bench`. Plain JavaScript
// so it runs before anything is installed: it sets up what is missing
// (npm dependencies, a Java runtime for DynamoDB Local, Prosody), then hands
// over to the TypeScript entry points.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [command, ...rest] = process.argv.slice(2);

const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
const isRoot = process.getuid?.() === 0;
const canSudo = !isRoot && has('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
let aptUpdated = false;

const aptInstall = (what, packages, hint) => {
  if (!has('apt-get') || (!isRoot && !canSudo)) {
    console.error(`\n${what} is missing. Install it, then run this again:\n  ${hint}\n`);
    process.exit(1);
  }
  const run = (args) => {
    const [cmd, full] = isRoot ? ['apt-get', args] : ['sudo', ['-n', 'apt-get', ...args]];
    execFileSync(cmd, full, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  console.log(`Installing ${what} (${packages.join(' ')})...`);
  if (!aptUpdated) {
    run(['update', '-qq']);
    aptUpdated = true;
  }
  run(['install', '-y', '-qq', '--no-install-recommends', ...packages]);
};

const javaOk = () => {
  if (!has('java')) return false;
  const out = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const m = /version "(\d+)/.exec(`${out.stderr}${out.stdout}`);
  return m !== null && Number(m[1]) >= 17;
};

const ensureNodeModules = () => {
  if (existsSync(join(root, 'node_modules', '.package-lock.json'))) return;
  console.log('Installing npm dependencies (npm ci)...');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
};

const ensureJava = () => {
  if (!javaOk())
    aptInstall('A Java runtime (17+) for DynamoDB Local', ['default-jre-headless'], 'sudo apt-get install -y default-jre-headless');
};

const ensureProsody = () => {
  if (!existsSync('/usr/lib/prosody/modules/mod_privilege/mod_privilege.lua') || !has('prosody')) {
    aptInstall(
      'Prosody and its community modules',
      ['prosody', 'prosody-modules', 'openssl'],
      'sudo apt-get install -y prosody prosody-modules'
    );
  }
};

const ensureEjabberd = () => {
  if (!has('ejabberdctl') && !existsSync('/usr/sbin/ejabberdctl')) {
    aptInstall('ejabberd', ['ejabberd'], 'sudo apt-get install -y ejabberd');
  }
};

// mod_xmpp_invites for ejabberd is compiled from source against the packaged
// headers; erlc comes with erlang-base (an ejabberd dependency, but a
// minimal image may lack it).
const ensureErlc = () => {
  if (!has('erlc')) aptInstall('The Erlang compiler (erlc) for mod_xmpp_invites', ['erlang-base'], 'sudo apt-get install -y erlang-base');
};

// Prosody 13 and ejabberd 24.12 come from Debian bookworm-backports, unpacked
// into node_modules/.cache/xmpp-servers (never replacing the system's
// packages, which they build on): scripts/local/backports.ts does it once.
const ensureBackports = (choices) => {
  if (choices.length === 0) return;
  const out = spawnSync(node(), ['--import', 'tsx', join(root, 'scripts', 'local', 'backports.ts'), ...choices], {
    cwd: root,
    env,
    stdio: 'inherit',
  });
  if (out.status !== 0) process.exit(out.status ?? 1);
};

// LOCAL_XMPP: the private server of `npm start` (and the shared stack of the tests).
const localXmpp = (process.env.LOCAL_XMPP ?? '').trim() || 'prosody';

const ensureChromium = () => {
  if (!existsSync('/usr/bin/chromium')) aptInstall('Chromium (browser tests)', ['chromium'], 'sudo apt-get install -y chromium');
};

const bin = (name) => join(root, 'node_modules', '.bin', name);
// Everything runs on Node 22, the Lambda runtime the functions deploy to
// (nodejs22.x): a pinned `node` devDependency, first on the PATH of every
// child, whatever Node started this script.
const env = { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` };
const node = () => (existsSync(bin('node')) ? bin('node') : process.execPath);

const run = (cmd, args) => {
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', env });
  // Ctrl-C reaches the child too (same process group); forwarding covers kill/timeout.
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
};

ensureNodeModules();
switch (command) {
  case 'start': {
    ensureJava();
    // An existing server (XMPP_* set) needs no local one. An unknown
    // LOCAL_XMPP installs nothing: start.ts refuses it with the choices.
    if (!process.env.XMPP_SERVERS && !process.env.XMPP_DOMAIN) {
      if (localXmpp === 'prosody' || localXmpp === 'prosody-13') ensureProsody();
      if (localXmpp === 'ejabberd' || localXmpp === 'ejabberd-24') {
        ensureEjabberd();
        ensureErlc();
      }
      if (localXmpp === 'prosody-13' || localXmpp === 'ejabberd-24') ensureBackports([localXmpp]);
    }
    // One node process with tsx's loader, so signals reach start.ts directly.
    run(node(), ['--import', 'tsx', join(root, 'scripts', 'start.ts'), ...rest]);
    break;
  }
  case 'test': {
    ensureJava();
    ensureProsody();
    ensureEjabberd();
    ensureErlc();
    ensureChromium();
    // The suites run on all four servers (README: compatibility).
    ensureBackports(['prosody-13', 'ejabberd-24']);
    run(bin('vitest'), ['run', ...rest]);
    break;
  }
  case 'bench': {
    ensureJava();
    ensureProsody();
    run(node(), ['--import', 'tsx', join(root, 'bench', 'run.ts'), ...rest]);
    break;
  }
  default:
    console.error('usage: node scripts/run.js start|test|bench');
    process.exit(2);
}
