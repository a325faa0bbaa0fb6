import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureProsody13, readableBy } from './backports.js';
import { freePort, portOpen, startChild, waitFor, selfSignedCertificate } from './process.js';
import type { LocalXmppServer } from './xmppServer.js';

export interface LocalProsody extends LocalXmppServer {
  /** `0.12` (the system's package) or `13` (bookworm-backports, scripts/local/backports.ts). */
  version: ProsodyVersion;
  configFile: string;
  /** The service settings of mod_xmpp_invites, when this instance loads it. */
  xmppInvites?: XmppInvitesModuleOptions;
  /** Runs prosodyctl against this instance. */
  ctl: (...args: string[]) => string;
}

/**
 * What a test needs to reach a running Prosody and change its configuration:
 * plain data, handed from the global setup to the test files (test/support).
 */
export type ProsodyAccess = Pick<
  LocalProsody,
  'domain' | 'service' | 'adminJid' | 'adminPassword' | 'operatorJid' | 'operatorPassword' | 'caFile' | 'dir' | 'configFile'
>;

/** Settings of modules/prosody/mod_xmpp_invites.lua (docs/prosody.md, "In-app invites"). */
export interface XmppInvitesModuleOptions {
  /** The service's base URL, e.g. serverless-offline's. */
  url: string;
  /** An xmpp-server key for this domain; handed to Prosody in its environment, never written to disk. */
  key: string;
  timeoutSeconds?: number;
  registrationInviteOnly?: boolean;
  maxLiveInvites?: number;
  preauthPerMinute?: number;
}

/** The module's source in this repository. */
const XMPP_INVITES_MODULE = fileURLToPath(new URL('../../modules/prosody/mod_xmpp_invites.lua', import.meta.url));

export type ProsodyVersion = '0.12' | '13';

export interface ProsodyOptions {
  /** The system's Prosody (0.12, default) or Prosody 13 from bookworm-backports, installed on first use. */
  version?: ProsodyVersion;
  domain?: string;
  c2sPort?: number;
  httpPort?: number;
  adminPassword?: string;
  /** Also load Prosody's own invite modules (for the side-by-side benchmark). */
  withInvites?: boolean;
  /**
   * Prosody 13 only: the provisioning account (admin@domain) gets only the
   * role PROVISIONER_ROLE (the three admin commands the service runs, plus
   * mod_privilege's roster access) instead of being in `admins`.
   */
  leastRole?: boolean;
  /** The XEP-0133 commands of that role (default PROVISIONER_COMMANDS): an older role's, to test that it still works. */
  roleCommands?: readonly string[];
  /** Load this repository's mod_xmpp_invites, pointed at the service. */
  xmppInvites?: XmppInvitesModuleOptions;
  /** `debug` also logs the HTTP client's lines (tests check no token reaches the log). */
  logLevel?: 'debug' | 'info';
  dir?: string;
}

const isRoot = () => process.getuid?.() === 0;

/**
 * Prosody 13's least role for the provisioning account: the XEP-0133
 * commands ProsodyProvisioner runs (mod_admin_adhoc grants them to
 * prosody:admin by default) and nothing else of an admin's. Roster access
 * comes from privileged_entities (mod_privilege), not from a role.
 */
export const PROVISIONER_ROLE = 'xmpp-invites:provisioner';
export const PROVISIONER_COMMANDS = ['add-user', 'change-user-password', 'user-stats'] as const;
const permissionsOf = (commands: readonly string[]) => commands.map((command) => `adhoc:http://jabber.org/protocol/admin#${command}`);
export const PROVISIONER_PERMISSIONS = permissionsOf(PROVISIONER_COMMANDS);

/** As root, Prosody runs as the `prosody` user, like the packaged service. */
const asProsody = (command: string, args: string[]): [string, string[]] =>
  isRoot() ? ['setpriv', ['--reuid=prosody', '--regid=prosody', '--init-groups', command, ...args]] : [command, args];

const prosodyInstalled = (): boolean => existsSync('/usr/bin/prosody') || existsSync('/usr/local/bin/prosody');

interface ProsodyBinaries {
  prosody: string;
  prosodyctl: string;
  /** The plugin path of the community modules (mod_privilege) matching this version. */
  communityDir: string;
  release: () => string;
}

/** Debian's prosody and prosody-modules: mod_privilege is installed among 0.12's own modules. */
const SYSTEM_PROSODY: ProsodyBinaries = {
  prosody: 'prosody',
  prosodyctl: 'prosodyctl',
  communityDir: '/usr/lib/prosody/modules',
  release: () => {
    try {
      return readFileSync('/usr/lib/prosody/prosody.version', 'utf8').trim();
    } catch {
      return '0.12';
    }
  },
};

/**
 * Prosody 13 from bookworm-backports (installed on first use) for the
 * instance in `dir`: copies of its `prosody` and `prosodyctl` whose source
 * and plugin directories are the unpacked package's. As root, when the
 * prosody user cannot read the cache (a repository in a closed home
 * directory), the instance gets its own copy of the tree.
 */
const prosody13In = (dir: string): ProsodyBinaries => {
  const installed = ensureProsody13();
  let { prefix, sourceDir, pluginDir, communityDir } = installed;
  if (isRoot() && !readableBy('prosody', join(sourceDir, 'prosody.version'))) {
    cpSync(join(prefix, '..'), join(dir, 'prosody-13'), { recursive: true, verbatimSymlinks: true });
    const moved = (p: string) => join(dir, 'prosody-13', relative(join(prefix, '..'), p));
    [prefix, sourceDir, pluginDir, communityDir] = [moved(prefix), moved(sourceDir), moved(pluginDir), moved(communityDir)];
  }
  mkdirSync(join(dir, 'bin'), { recursive: true });
  const wrapper = (name: string) => {
    const script = readFileSync(join(prefix, 'usr', 'bin', name), 'utf8')
      .replace(/^CFG_SOURCEDIR=.*$/m, `CFG_SOURCEDIR=${JSON.stringify(sourceDir)};`)
      .replace(/^CFG_PLUGINDIR=.*$/m, `CFG_PLUGINDIR=${JSON.stringify(`${pluginDir}/`)};`);
    if (!script.includes(sourceDir))
      throw new Error(`${name} of Prosody ${installed.version} has no CFG_SOURCEDIR line to point at ${sourceDir}`);
    writeFileSync(join(dir, 'bin', name), script, { mode: 0o755 });
    return join(dir, 'bin', name);
  };
  return { prosody: wrapper('prosody'), prosodyctl: wrapper('prosodyctl'), communityDir, release: () => installed.version };
};

/**
 * A private Prosody on loopback with its own config, data dir, self-signed
 * certificate and admin account; nothing shared with a system instance.
 */
export const startProsody = async (options: ProsodyOptions = {}): Promise<LocalProsody> => {
  if (!prosodyInstalled()) {
    throw new Error('Prosody is not installed: run `sudo apt-get install -y prosody prosody-modules`');
  }
  const version = options.version ?? '0.12';
  if (options.leastRole && version !== '13') throw new Error('leastRole needs Prosody 13 (0.12 has no roles)');
  const least = options.leastRole === true;
  const domain = options.domain ?? 'localhost';
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'xmpp-invites-prosody-'));
  mkdirSync(join(dir, 'data'), { recursive: true });
  mkdirSync(join(dir, 'certs'), { recursive: true });
  const server = version === '13' ? prosody13In(dir) : SYSTEM_PROSODY;
  const c2sPort = options.c2sPort ?? (await freePort());
  const httpPort = options.httpPort ?? (await freePort());
  const adminPassword = options.adminPassword ?? `admin-${Math.random().toString(36).slice(2)}`;
  const adminJid = `admin@${domain}`;
  const operatorPassword = `operator-${Math.random().toString(36).slice(2)}`;
  const operatorJid = `operator@${domain}`;
  const key = join(dir, 'certs', `${domain}.key`);
  const crt = join(dir, 'certs', `${domain}.crt`);
  if (!existsSync(crt)) {
    selfSignedCertificate(domain, key, crt);
  }
  // mod_invites_api is a community module of 0.12's prosody-modules (Prosody 13 gets only mod_privilege).
  const invites = options.withInvites
    ? `"http"; "invites"; "invites_register";${version === '13' ? '' : ' "invites_api";'} "register_ibr"; "invites_adhoc";`
    : '';
  // A copy next to the data, readable by the prosody user wherever the
  // repository lives (a home directory may be closed to it).
  const m = options.xmppInvites;
  if (m) {
    mkdirSync(join(dir, 'modules'), { recursive: true });
    copyFileSync(XMPP_INVITES_MODULE, join(dir, 'modules', 'mod_xmpp_invites.lua'));
  }
  const xmppInvitesConfig = m
    ? `
-- This repository's module (modules/prosody/mod_xmpp_invites.lua): in-app
-- invites (preauth, in-band registration, XEP-0379, XEP-0401 ad-hoc) answered
-- by the service.
xmpp_invites_url = ${JSON.stringify(m.url)}
xmpp_invites_key = ${version === '13' ? 'Lua.os' : 'os'}.getenv("XMPP_INVITES_KEY")
xmpp_invites_timeout = ${m.timeoutSeconds ?? 5}
xmpp_invites_max_live_invites = ${m.maxLiveInvites ?? 10}
xmpp_invites_preauth_per_minute = ${m.preauthPerMinute ?? 12}
`
    : '';
  const configFile = join(dir, 'prosody.cfg.lua');
  writeFileSync(
    configFile,
    `-- Private instance for xmpp-invites (tests, npm start). Loopback only.
pidfile = "${dir}/prosody.pid"
data_path = "${dir}/data"
log = { { levels = { min = "${options.logLevel ?? 'info'}" }, to = "file", filename = "${dir}/prosody.log" } }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { ${c2sPort} }
c2s_direct_tls_ports = { }
s2s_ports = { }
component_ports = { }
http_ports = { ${httpPort} }
http_interfaces = { "127.0.0.1" }
https_ports = { }
admins = { ${least ? '' : `"${adminJid}"; `}"${operatorJid}" }${
      least
        ? `
custom_roles = {
  { name = "${PROVISIONER_ROLE}"; priority = 40; inherits = { "prosody:member" };
    allow = { ${permissionsOf(options.roleCommands ?? PROVISIONER_COMMANDS)
      .map((p) => JSON.stringify(p))
      .join('; ')} } };
}`
        : ''
    }
-- This version's community modules only (mod_privilege): never another version's core modules.
plugin_paths = { ${JSON.stringify(server.communityDir)}${m ? `; "${dir}/modules"` : ''} }
modules_enabled = { "roster"; "saslauth"; "tls"; "disco"; "ping"; "admin_adhoc"; "privilege"; "posix"; ${least ? '"admin_shell"; ' : ''}${invites}${m ? ' "xmpp_invites";' : ''} "register"; }
modules_disabled = { "s2s"; "offline"; "c2s_csi" }
authentication = "internal_hashed"
storage = "internal"
c2s_require_encryption = true
allow_registration = ${options.withInvites || m ? 'true' : 'false'}
registration_invite_only = ${m?.registrationInviteOnly ?? true}
certificates = "${dir}/certs"
invites_page = "http://${domain}:${httpPort}/invite?{invite.token}"
invites_api_keys = { }
-- "register" (Prosody's default): its mod_user_account_management lets a
-- logged-in user change their password and remove their account in-band;
-- with allow_registration it also loads mod_register_ibr, which
-- mod_xmpp_invites answers before, and mod_watchregistrations, which would
-- message every admin (the provisioning account too) about each new account.
registration_watchers = { }
${xmppInvitesConfig}
VirtualHost "${domain}"
  ssl = { key = "${key}"; certificate = "${crt}" }
  privileged_entities = { ["${adminJid}"] = { roster = "both" } }
`
  );
  if (isRoot()) {
    execFileSync('chown', ['-R', 'prosody:prosody', dir]);
  }
  const ctl = (...args: string[]): string => {
    const [cmd, full] = asProsody(server.prosodyctl, ['--config', configFile, ...args]);
    return execFileSync(cmd, full, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  ctl('register', 'admin', domain, adminPassword);
  ctl('register', 'operator', domain, operatorPassword);

  const [cmd, args] = asProsody(server.prosody, ['--config', configFile, '-F']);
  const child = startChild(cmd, args, { name: 'prosody', env: { ...process.env, ...(m ? { XMPP_INVITES_KEY: m.key } : {}) } });
  const log = () => (existsSync(join(dir, 'prosody.log')) ? readFileSync(join(dir, 'prosody.log'), 'utf8') : '') + child.output();
  try {
    await waitFor('Prosody', () => portOpen(c2sPort), 15_000, child.process);
    // A stored role (13's shell, through mod_admin_shell's socket) replaces `admins`.
    if (least) ctl('shell', 'user', 'set_role', adminJid, PROVISIONER_ROLE);
  } catch (e) {
    await child.stop();
    const output = log();
    if (!options.dir) rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}\n${output}`);
  }
  return {
    version,
    label: `Prosody ${server.release()}`,
    domain,
    service: `xmpp://127.0.0.1:${c2sPort}`,
    c2sPort,
    httpPort,
    adminJid,
    adminPassword,
    operatorJid,
    operatorPassword,
    caFile: crt,
    dir,
    configFile,
    xmppInvites: m,
    log,
    ctl,
    stop: async () => {
      await child.stop();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
};
