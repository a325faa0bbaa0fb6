import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureEjabberd24, readableBy, type Ejabberd24 } from './backports.js';
import { freePort, portOpen, sleep, startChild, waitFor, type Child, selfSignedCertificate } from './process.js';
import type { LocalXmppServer } from './xmppServer.js';

export interface LocalEjabberd extends LocalXmppServer {
  /** `23.01` (the system's package) or `24.12` (bookworm-backports, scripts/local/backports.ts). */
  version: EjabberdVersion;
  /** With `optionalTlsListener`: a c2s port where clients may stay in plaintext. */
  optionalTlsPort?: number;
  /** mod_http_api base URL. */
  apiUrl: string;
  node: string;
  /** Runs ejabberdctl against this instance. */
  ctl: (...args: string[]) => string;
  /** Changes mod_xmpp_invites' settings of the running server (rewrites the config, then reload_config). */
  setInvites: (changes: Partial<InvitesModuleSettings>) => void;
}

/** The settings of modules/ejabberd/mod_xmpp_invites (see its mod_options). */
export interface InvitesModuleSettings {
  /** Base URL of the service, e.g. http://127.0.0.1:3000. */
  url: string;
  /** An `xmpp-server` API key for this domain. */
  key: string;
  timeoutMs?: number;
  caFile?: string;
  inviteOnly?: boolean;
  /**
   * ejabberd access rules: who may run the XEP-0401 ad-hoc commands. Unset:
   * the module's defaults (#invite every local user, #create-account the
   * `admin` ACL, which this instance gives its admin account).
   */
  inviteAccess?: string;
  createAccountAccess?: string;
  maxInvitesPerUser?: number;
  preauthPerMinute?: number;
  /** Subscriptions carrying a token, per sender and minute (`subscribe_per_minute`; 0 = off). */
  subscribePerMinute?: number;
  /** mod_register's `access` (default all): open registration never goes past it. */
  registerAccess?: string;
}

export type EjabberdVersion = '23.01' | '24.12';

export interface EjabberdOptions {
  /** The system's ejabberd (23.01, default) or ejabberd 24.12 from bookworm-backports, installed on first use. */
  version?: EjabberdVersion;
  domain?: string;
  adminPassword?: string;
  /** Loads mod_xmpp_invites (compiled from modules/ejabberd with erlc) with these settings. */
  invites?: InvitesModuleSettings;
  /** Also a c2s listener where STARTTLS is offered but not required (to test what happens on plaintext). */
  optionalTlsListener?: boolean;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const INVITES_MODULE_SOURCE = join(ROOT, 'modules', 'ejabberd', 'mod_xmpp_invites.erl');

/** ejabberd's own headers (Debian: inside the ejabberd package) and p1_xmpp's. */
const erlangBuildPaths = (version: EjabberdVersion) => {
  if (version === '24.12') {
    const { ejabberdLib, p1xmpp } = ensureEjabberd24();
    return { ejabberdLib, p1xmpp };
  }
  const ejabberdLib = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/usr/local/lib']
    .flatMap((base) =>
      existsSync(base)
        ? readdirSync(base)
            .filter((d) => /^ejabberd-\d/.test(d))
            .map((d) => join(base, d))
        : []
    )
    .find((d) => existsSync(join(d, 'include', 'logger.hrl')));
  const erlLib = '/usr/lib/erlang/lib';
  const p1xmpp = existsSync(erlLib) ? readdirSync(erlLib).find((d) => /^(p1_)?xmpp-\d/.test(d)) : undefined;
  if (!ejabberdLib || !p1xmpp) {
    throw new Error(
      'ejabberd headers not found (expected /usr/lib/<arch>/ejabberd-*/include and /usr/lib/erlang/lib/p1_xmpp-*): install the ejabberd package'
    );
  }
  return { ejabberdLib, p1xmpp: join(erlLib, p1xmpp) };
};

/**
 * Compiles mod_xmpp_invites.erl with erlc and returns the .beam's path.
 * Cached under node_modules/.cache by a hash of the source, the headers'
 * location and the compiler, so repeated starts do not recompile.
 */
export const buildInvitesModule = (version: EjabberdVersion = '23.01'): string => {
  const erlc = ['/usr/bin/erlc', '/usr/local/bin/erlc'].find((p) => existsSync(p));
  if (!erlc) throw new Error('erlc is missing: run `sudo apt-get install -y erlang-base` (npm test does it for you)');
  // The system's erlc for both: ejabberd 24.12 from backports runs on the same OTP (erlang-abi).
  const { ejabberdLib, p1xmpp } = erlangBuildPaths(version);
  const source = readFileSync(INVITES_MODULE_SOURCE);
  const hash = createHash('sha256').update(source).update(ejabberdLib).update(p1xmpp).update(erlc).digest('hex').slice(0, 16);
  const cacheDir = join(ROOT, 'node_modules', '.cache', 'xmpp-invites-ejabberd', hash);
  const beam = join(cacheDir, 'mod_xmpp_invites.beam');
  if (existsSync(beam)) return beam;
  const build = mkdtempSync(join(tmpdir(), 'xmpp-invites-erlc-'));
  try {
    execFileSync(
      erlc,
      [
        '-o',
        build,
        // Debian names the directory p1_xmpp-<version>, so -include_lib("xmpp/...") cannot work: plain -I.
        '-I',
        join(ejabberdLib, 'include'),
        '-I',
        join(p1xmpp, 'include'),
        // gen_mod's behaviour definition, for erlc's callback check.
        '-pa',
        join(ejabberdLib, 'ebin'),
        '-Werror',
        INVITES_MODULE_SOURCE,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] }
    );
    mkdirSync(cacheDir, { recursive: true });
    // Atomic, so parallel test files never load a half-written beam.
    const tmp = join(cacheDir, `mod_xmpp_invites.beam.${process.pid}`);
    copyFileSync(join(build, 'mod_xmpp_invites.beam'), tmp);
    renameSync(tmp, beam);
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer; message: string };
    throw new Error(`erlc failed on ${INVITES_MODULE_SOURCE}:\n${err.stdout?.toString() ?? ''}${err.stderr?.toString() ?? err.message}`);
  } finally {
    rmSync(build, { recursive: true, force: true });
  }
  return beam;
};

const invitesModuleYml = (o: InvitesModuleSettings) => {
  const lines = [
    `    url: ${yamlString(o.url)}`,
    `    key: ${yamlString(o.key)}`,
    `    timeout: ${o.timeoutMs ?? 5000}`,
    `    invite_only: ${o.inviteOnly ?? true}`,
    `    max_invites_per_user: ${o.maxInvitesPerUser ?? 10}`,
    `    preauth_per_minute: ${o.preauthPerMinute ?? 10}`,
    ...(o.subscribePerMinute === undefined ? [] : [`    subscribe_per_minute: ${o.subscribePerMinute}`]),
  ];
  if (o.inviteAccess) lines.push(`    invite_access: ${o.inviteAccess}`);
  if (o.createAccountAccess) lines.push(`    create_account_access: ${o.createAccountAccess}`);
  if (o.caFile) lines.push(`    ca_file: ${yamlString(o.caFile)}`);
  // mod_register stays for password changes of logged-in users; unauthenticated
  // registration is mod_xmpp_invites' (it answers first, at priority 40).
  return `  mod_adhoc: {}
  mod_register:
    access: ${o.registerAccess ?? 'all'}
  mod_xmpp_invites:
${lines.join('\n')}
`;
};

/** The commands the EjabberdProvisioner uses: mod_http_api allows nothing else. */
const EJABBERD_API_COMMANDS = ['register', 'check_account', 'check_password', 'change_password', 'add_rosteritem', 'get_roster'] as const;

const EJABBERDCTL = ['/usr/sbin/ejabberdctl', '/usr/local/sbin/ejabberdctl'].find((p) => existsSync(p));

const ejabberdInstalled = (): boolean => EJABBERDCTL !== undefined;

const isRoot = () => process.getuid?.() === 0;

/**
 * The packaged ejabberdctl runs only as root (then it `su`s to the `ejabberd`
 * user, in a new session we could not signal) or as `ejabberd`. As root we
 * drop to `ejabberd` ourselves, like the Prosody script, so every process
 * stays in our process group; as another user we run a copy of the script
 * that does not insist on a user.
 */
const ejabberdctlFor = (dir: string, backport?: Ejabberd24): [string, string[]] => {
  if (backport) {
    // The backport's ejabberdctl, its libraries first on ERL_LIBS (before the
    // system's older p1_* in OTP's lib directory), in the instance directory.
    const copy = join(dir, 'ejabberdctl');
    const script = readFileSync(backport.ejabberdctl, 'utf8');
    if (!/^ERL_LIBS=.*$/m.test(script)) throw new Error(`${backport.ejabberdctl} has no ERL_LIBS line to point at ${backport.prefix}`);
    const patched = script
      .replace(/^ERL_LIBS=.*$/m, `ERL_LIBS='${backport.erlLibs.join(':')}'`)
      .replace(/^INSTALLUSER=.*$/m, isRoot() || userInfo().username === 'ejabberd' ? 'INSTALLUSER=ejabberd' : 'INSTALLUSER=');
    writeFileSync(copy, patched, { mode: 0o755 });
    return isRoot() ? ['setpriv', ['--reuid=ejabberd', '--regid=ejabberd', '--init-groups', copy]] : [copy, []];
  }
  const ctl = EJABBERDCTL as string;
  if (isRoot()) return ['setpriv', ['--reuid=ejabberd', '--regid=ejabberd', '--init-groups', ctl]];
  if (userInfo().username === 'ejabberd') return [ctl, []];
  const copy = join(dir, 'ejabberdctl');
  writeFileSync(copy, readFileSync(ctl, 'utf8').replace(/^INSTALLUSER=.*$/m, 'INSTALLUSER='), { mode: 0o755 });
  return [copy, []];
};

const yamlString = (s: string) => JSON.stringify(s);

const ejabberdYml = (o: {
  domain: string;
  adminJid: string;
  operatorJid: string;
  c2sPort: number;
  optionalTlsPort?: number;
  httpPort: number;
  cert: string;
  key: string;
  invites?: InvitesModuleSettings;
}) =>
  `# Private instance for xmpp-invites tests. Loopback only.
loglevel: info
# The service's register/change_password/check_password calls carry
# passwords: log them as "hidden_by_ejabberd".
hide_sensitive_log_data: true
log_rotate_count: 0
hosts:
  - ${yamlString(o.domain)}
certfiles:
  - ${yamlString(o.cert)}
  - ${yamlString(o.key)}
listen:
  -
    port: ${o.c2sPort}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls_required: true
${
  o.optionalTlsPort
    ? `  -
    port: ${o.optionalTlsPort}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: true
`
    : ''
}  -
    port: ${o.httpPort}
    ip: "127.0.0.1"
    module: ejabberd_http
    request_handlers:
      /api: mod_http_api
auth_password_format: scram
acl:
  invites_provisioner:
    user: ${yamlString(o.adminJid)}
  # The server's admins: mod_xmpp_invites lets them (only) run
  # urn:xmpp:invite#create-account by default.
  admin:
    user:
      - ${yamlString(o.adminJid)}
      - ${yamlString(o.operatorJid)}
# Replaces the packaged default, whose "admin access" lets any loopback
# client run any command without credentials.
api_permissions:
  "console commands":
    from: ejabberd_ctl
    who: all
    what: "*"
  "xmpp-invites provisioning":
    from: mod_http_api
    who:
      acl: invites_provisioner
    what:
${EJABBERD_API_COMMANDS.map((c) => `      - ${c}`).join('\n')}
modules:
  mod_admin_extra: {}
  mod_http_api: {}
  mod_roster: {}
  mod_disco: {}
  mod_ping: {}
${o.invites ? invitesModuleYml(o.invites) : ''}`;

/**
 * ejabberd 24.12 from bookworm-backports (installed on first use). As root,
 * when the ejabberd user cannot read the cache (a repository in a closed
 * home directory), the instance gets its own copy of the tree.
 */
const ejabberd24In = (dir: string): Ejabberd24 => {
  const installed = ensureEjabberd24();
  if (!isRoot() || readableBy('ejabberd', join(installed.ejabberdLib, 'include', 'logger.hrl'))) return installed;
  const top = join(installed.prefix, '..');
  cpSync(top, join(dir, 'ejabberd-24'), { recursive: true, verbatimSymlinks: true });
  const moved = (p: string) => join(dir, 'ejabberd-24', relative(top, p));
  return {
    ...installed,
    prefix: moved(installed.prefix),
    ejabberdLib: moved(installed.ejabberdLib),
    p1xmpp: moved(installed.p1xmpp),
    erlLibs: installed.erlLibs.map(moved),
    ejabberdctl: moved(installed.ejabberdctl),
  };
};

/** The system ejabberd's version, from its library directory's name. */
const systemEjabberdVersion = (): string => {
  try {
    return /ejabberd-([\d.]+)/.exec(erlangBuildPaths('23.01').ejabberdLib)?.[1] ?? '23.01';
  } catch {
    return '23.01';
  }
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * A private ejabberd (the OS package) on loopback, with its own config, spool,
 * logs, Erlang node name and cookie, self-signed certificate, admin account,
 * and its own epmd on a private port. `stop()` ends ejabberd and that epmd.
 */
export const startEjabberd = async (options: EjabberdOptions = {}): Promise<LocalEjabberd> => {
  if (!ejabberdInstalled()) throw new Error('ejabberd is not installed: run `sudo apt-get install -y ejabberd`');
  const version = options.version ?? '23.01';
  const domain = options.domain ?? 'ejabberd.localhost';
  const dir = mkdtempSync(join(tmpdir(), 'xmpp-invites-ejabberd-'));
  for (const sub of ['spool', 'logs']) mkdirSync(join(dir, sub));
  const backport = version === '24.12' ? ejabberd24In(dir) : undefined;
  const [c2sPort, httpPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  const optionalTlsPort = options.optionalTlsListener ? await freePort() : undefined;
  const adminPassword = options.adminPassword ?? `admin-${randomBytes(9).toString('base64url')}`;
  const adminJid = `admin@${domain}`;
  const operatorPassword = `operator-${randomBytes(9).toString('base64url')}`;
  const operatorJid = `operator@${domain}`;
  const node = `xmppinvites${randomBytes(4).toString('hex')}@localhost`;
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  selfSignedCertificate(domain, key, cert);
  let invites = options.invites;
  if (invites) {
    // In the instance directory, which the ejabberd user can read (chown below).
    mkdirSync(join(dir, 'ebin'));
    copyFileSync(buildInvitesModule(version), join(dir, 'ebin', 'mod_xmpp_invites.beam'));
  }
  const writeYml = () =>
    writeFileSync(
      join(dir, 'ejabberd.yml'),
      ejabberdYml({ domain, adminJid, operatorJid, c2sPort, optionalTlsPort, httpPort, cert, key, invites })
    );
  writeYml();
  // Read by ejabberdctl for the server and for every ctl command: a private
  // cookie (nothing in ~/.erlang.cookie), our own epmd, and the Erlang
  // distribution on loopback only.
  writeFileSync(
    join(dir, 'ejabberdctl.cfg'),
    `ERL_OPTIONS="-setcookie ${randomBytes(12).toString('hex')} -start_epmd false -kernel inet_dist_use_interface {127,0,0,1}${invites ? ` -pa ${dir}/ebin` : ''}"
EJABBERD_PID_PATH=${dir}/ejabberd.pid
`
  );
  writeFileSync(join(dir, 'inetrc'), '{lookup,["file","native"]}.\n{host,{127,0,0,1}, ["localhost"]}.\n');
  const [command, prefix] = ejabberdctlFor(dir, backport);
  if (isRoot()) execFileSync('chown', ['-R', 'ejabberd:ejabberd', dir]);

  const env = {
    ...process.env,
    HOME: dir,
    ERL_EPMD_ADDRESS: '127.0.0.1',
    ERL_EPMD_PORT: String(epmdPort),
  };
  const ctlArgs = ['--config-dir', dir, '--spool', join(dir, 'spool'), '--logs', join(dir, 'logs'), '--node', node];
  const ctl = (...args: string[]): string =>
    execFileSync(command, [...prefix, ...ctlArgs, ...args], { env, cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  let epmd: Child | undefined;
  let server: Child | undefined;
  const log = () => {
    const file = join(dir, 'logs', 'ejabberd.log');
    return (existsSync(file) ? readFileSync(file, 'utf8') : '') + (server?.output() ?? '');
  };
  const stop = async () => {
    const pidFile = join(dir, 'ejabberd.pid');
    const beam = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : undefined;
    try {
      await server?.stop();
      // ejabberdctl's shell may exit before the VM it started: wait for the VM.
      if (beam) {
        const deadline = Date.now() + 10_000;
        while (alive(beam) && Date.now() < deadline) await sleep(50);
        if (alive(beam)) process.kill(beam, 'SIGKILL');
      }
    } finally {
      await epmd?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  };

  try {
    const [epmdCommand, epmdPrefix] = isRoot()
      ? ['setpriv', ['--reuid=ejabberd', '--regid=ejabberd', '--init-groups', 'epmd']]
      : ['epmd', []];
    epmd = startChild(epmdCommand, [...epmdPrefix, '-port', String(epmdPort), '-address', '127.0.0.1'], { env, name: 'epmd' });
    const epmdChild = epmd;
    await waitFor('epmd', () => portOpen(epmdPort), 10_000, epmdChild.process);

    server = startChild(command, [...prefix, ...ctlArgs, 'foreground'], { env, cwd: dir, name: 'ejabberd' });
    const child = server;
    await waitFor('ejabberd', async () => (await portOpen(c2sPort)) && (await portOpen(httpPort)), 30_000, child.process);
    ctl('register', 'admin', domain, adminPassword);
    ctl('register', 'operator', domain, operatorPassword);
  } catch (e) {
    const output = log();
    await stop();
    throw new Error(`${(e as Error).message}\n${output}`);
  }
  return {
    version,
    label: `ejabberd ${backport?.version ?? systemEjabberdVersion()}`,
    domain,
    service: `xmpp://127.0.0.1:${c2sPort}`,
    c2sPort,
    optionalTlsPort,
    httpPort,
    apiUrl: `http://127.0.0.1:${httpPort}/api`,
    adminJid,
    adminPassword,
    operatorJid,
    operatorPassword,
    caFile: cert,
    dir,
    node,
    log,
    ctl,
    setInvites: (changes) => {
      if (!invites) throw new Error('this ejabberd was started without mod_xmpp_invites');
      invites = { ...invites, ...changes };
      writeYml();
      ctl('reload_config');
    },
    stop,
  };
};
