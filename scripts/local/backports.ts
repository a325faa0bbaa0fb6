/**
 * Prosody 13 and ejabberd 24.12 beside the system's Prosody 0.12 and
 * ejabberd 23.01, from Debian's bookworm-backports, without touching the
 * system: `apt-get download` with private apt lists (nothing in
 * /etc/apt or /var/lib/apt changes), `dpkg -x` into a prefix under
 * node_modules/.cache/xmpp-servers/, installed on first use.
 *
 * - Prosody 13: its .deb, and mod_privilege from the matching (2025)
 *   prosody-modules on a plugin path of its own. The Lua libraries come from
 *   the system's Prosody 0.12 packages (lua-sec, lua-socket, lua-expat,
 *   lua-filesystem, lua-bitop for Lua 5.4); startProsody writes wrapper copies
 *   of `prosody` and `prosodyctl` pointed at the prefix.
 * - ejabberd 24.12: its .deb and the Erlang libraries it needs newer than
 *   bookworm's (erlang-p1-*, erlang-jose), found from its Depends. The Erlang
 *   runtime (erts, OTP applications) is the system's: backports has no newer
 *   one and the package asks for the same `erlang-abi`, which is checked here.
 *   The other Erlang libraries come from the system's ejabberd 23.01 package.
 *   startEjabberd runs a copy of its ejabberdctl whose ERL_LIBS lists the
 *   prefix first, so the newer libraries win over the system's.
 *
 * `node --import tsx scripts/local/backports.ts prosody-13 ejabberd-24`
 * installs them (scripts/run.js does, before `npm start` or `npm test`).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Where the unpacked servers live (git-ignored with node_modules). */
export const SERVERS_CACHE = join(ROOT, 'node_modules', '.cache', 'xmpp-servers');
const SUITE = 'bookworm-backports';
const MIRROR = 'http://deb.debian.org/debian';

/** Where to install from and to; the defaults everywhere but in the installer's own tests. */
export interface InstallOptions {
  /** Default node_modules/.cache/xmpp-servers. */
  cacheDir?: string;
  /** A Debian mirror; default deb.debian.org. */
  mirror?: string;
}

/** The servers `LOCAL_XMPP` chooses from: the system's packages, or the backports. */
export const LOCAL_XMPP_CHOICES = ['prosody', 'prosody-13', 'ejabberd', 'ejabberd-24'] as const;
export type LocalXmpp = (typeof LOCAL_XMPP_CHOICES)[number];

/** `LOCAL_XMPP` (default `prosody`), or an error that lists the choices. */
export const localXmppFrom = (value: string | undefined): LocalXmpp => {
  const v = (value ?? '').trim() || 'prosody';
  if ((LOCAL_XMPP_CHOICES as readonly string[]).includes(v)) return v as LocalXmpp;
  throw new Error(`LOCAL_XMPP must be one of ${LOCAL_XMPP_CHOICES.join(', ')} (default prosody), got ${JSON.stringify(value)}`);
};

export class BackportsError extends Error {}

const isRoot = () => process.getuid?.() === 0;

const run = (cmd: string, args: string[], cwd?: string): string => {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    // The command and its words, without the private apt options.
    const words = args.filter((a, i) => !a.startsWith('-') && args[i - 1] !== '-o').slice(0, 2);
    throw new BackportsError(`${[cmd, ...words].join(' ')} failed: ${(err.stderr ?? err.message).trim().slice(-1500)}`);
  }
};

/** apt with private lists: reads the system's dpkg status, writes nothing of the system's. */
const privateApt = (dir: string, mirror: string) => {
  mkdirSync(join(dir, 'lists', 'partial'), { recursive: true });
  mkdirSync(join(dir, 'cache', 'archives', 'partial'), { recursive: true });
  writeFileSync(join(dir, 'sources.list'), `deb ${mirror} ${SUITE} main\n`);
  const options = [
    '-o',
    `Dir::Etc::SourceList=${join(dir, 'sources.list')}`,
    '-o',
    'Dir::Etc::SourceParts=/dev/null',
    '-o',
    `Dir::State::Lists=${join(dir, 'lists')}`,
    '-o',
    `Dir::Cache=${join(dir, 'cache')}`,
    // As root apt hands downloads to the _apt user, who may not reach this directory.
    ...(isRoot() ? ['-o', 'APT::Sandbox::User=root'] : []),
  ];
  const debs = join(dir, 'debs');
  mkdirSync(debs, { recursive: true });
  return {
    // --error-on=any: an unreachable mirror fails here, not later as "Release not found".
    update: () => run('apt-get', [...options, '-qq', '--error-on=any', 'update']),
    /** Names among `names` that the backports suite has. */
    inBackports: (names: string[]): Set<string> => {
      const out = names.length ? run('apt-cache', [...options, 'madison', ...names]) : '';
      return new Set(
        out
          .split('\n')
          .filter((l) => l.includes(`${SUITE}/`))
          .map((l) => l.split('|')[0]?.trim() ?? '')
      );
    },
    /** Downloads the backports' version of each package; returns their files. */
    download: (names: string[]): string[] => {
      const before = new Set(readdirSync(debs));
      run('apt-get', [...options, '-qq', 'download', ...names.map((n) => `${n}/${SUITE}`)], debs);
      return readdirSync(debs)
        .filter((f) => f.endsWith('.deb') && !before.has(f))
        .map((f) => join(debs, f));
    },
  };
};

const control = (deb: string, field: string) => run('dpkg-deb', ['-f', deb, field]).trim();

interface Dependency {
  name: string;
  op?: string;
  version?: string;
}
/** A Depends field, first alternative of each entry (`a (>= 1) | b` -> a >= 1). */
const parseDepends = (field: string): Dependency[] =>
  field
    .split(',')
    .map((entry) => entry.split('|')[0]?.trim() ?? '')
    .filter(Boolean)
    .map((entry) => {
      const m = /^([^\s(:]+)(?::\S+)?\s*(?:\(\s*([<>=]+)\s*([^)\s]+)\s*\))?/.exec(entry);
      return { name: m?.[1] ?? entry, op: m?.[2], version: m?.[3] };
    });

/** A dpkg-query --showformat naming `fields` (dpkg's own ${Field} syntax, not a template string). */
const dpkgFormat = (...fields: string[]) => fields.map((f) => `$\{${f}}`).join('\t');

const installedVersion = (name: string): string | undefined => {
  try {
    const out = execFileSync('dpkg-query', ['-W', '-f', dpkgFormat('Status', 'Version'), name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [status, version] = out.split('\t');
    return status?.endsWith(' installed') ? version : undefined;
  } catch {
    return undefined;
  }
};
const DPKG_OPERATORS: Record<string, string> = { '>=': 'ge', '>>': 'gt', '<=': 'le', '<<': 'lt', '=': 'eq' };
/** dpkg's own version comparison (epochs, tildes). */
const compare = (installed: string, op: string, required: string): boolean => {
  const operator = DPKG_OPERATORS[op];
  if (!operator) return true;
  try {
    execFileSync('dpkg', ['--compare-versions', installed, operator, required], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/**
 * Builds `name` in a fresh directory beside its final place and renames it
 * there: a half-done install never looks done, and two processes installing
 * at once both end with one complete copy.
 */
const installOnce = <T>(
  name: string,
  options: InstallOptions,
  done: (dir: string) => T | undefined,
  build: (dir: string, work: string, mirror: string) => void
): T => {
  const cache = options.cacheDir ?? SERVERS_CACHE;
  const mirror = options.mirror ?? MIRROR;
  const dir = join(cache, name);
  const ready = existsSync(join(dir, 'INSTALLED')) ? done(dir) : undefined;
  if (ready) return ready;
  if (!existsSync('/usr/bin/apt-get') || !existsSync('/usr/bin/dpkg-deb')) {
    throw new BackportsError(
      `${name} installs from Debian's ${SUITE} with apt-get and dpkg: this machine has neither (Debian bookworm needed)`
    );
  }
  mkdirSync(cache, { recursive: true });
  const building = join(cache, `${name}.building-${process.pid}`);
  const work = join(cache, `${name}.work-${process.pid}`);
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  try {
    build(building, work, mirror);
    writeFileSync(join(building, 'INSTALLED'), `${new Date().toISOString()}\n`);
    try {
      renameSync(building, dir);
    } catch {
      // Another process finished first (or a stale broken copy is in the way).
      if (!existsSync(join(dir, 'INSTALLED'))) {
        rmSync(dir, { recursive: true, force: true });
        renameSync(building, dir);
      }
    }
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new BackportsError(
      `Could not install ${name} from Debian ${SUITE} (${mirror}) into ${dir}:\n  ${reason}\n` +
        `It needs network access to ${mirror}, apt-get and dpkg-deb (Debian bookworm), and the system's ${name.startsWith('prosody') ? 'prosody' : 'ejabberd'} package installed.`
    );
  } finally {
    rmSync(building, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
  const result = done(dir);
  if (!result) throw new BackportsError(`${name} in ${dir} is incomplete: delete that directory and try again`);
  return result;
};

export interface Prosody13 {
  version: string;
  /** The unpacked package's root (usr/, etc/). */
  prefix: string;
  /** usr/lib/prosody: its core (CFG_SOURCEDIR). */
  sourceDir: string;
  /** Its own core modules (CFG_PLUGINDIR). */
  pluginDir: string;
  /** Community modules from the matching prosody-modules (mod_privilege): a plugin_paths entry. */
  communityDir: string;
}

const prosodyIn = (dir: string): Prosody13 | undefined => {
  const prefix = join(dir, 'root');
  const sourceDir = join(prefix, 'usr', 'lib', 'prosody');
  const communityDir = join(dir, 'community');
  if (!existsSync(join(sourceDir, 'prosody.version')) || !existsSync(join(communityDir, 'mod_privilege', 'mod_privilege.lua')))
    return undefined;
  return {
    version: readFileSync(join(sourceDir, 'prosody.version'), 'utf8').trim(),
    prefix,
    sourceDir,
    pluginDir: join(sourceDir, 'modules'),
    communityDir,
  };
};

/** Prosody 13 from bookworm-backports, with mod_privilege from the matching prosody-modules. */
export const ensureProsody13 = (options: InstallOptions = {}): Prosody13 =>
  installOnce('prosody-13', options, prosodyIn, (dir, work, mirror) => {
    if (!installedVersion('prosody')) {
      throw new BackportsError(
        'the system prosody package (0.12) is missing: its Lua libraries serve Prosody 13 (apt-get install prosody)'
      );
    }
    const apt = privateApt(work, mirror);
    apt.update();
    const files = apt.download(['prosody', 'prosody-modules']);
    const deb = (name: string) => {
      const file = files.find((f) => control(f, 'Package') === name);
      if (!file) throw new BackportsError(`${SUITE} has no ${name}`);
      return file;
    };
    const prosody = deb('prosody');
    const version = control(prosody, 'Version');
    if (!version.startsWith('13.')) throw new BackportsError(`${SUITE} has prosody ${version}, not 13.x`);
    run('dpkg', ['-x', prosody, join(dir, 'root')]);
    // Only mod_privilege: the other community modules are not needed, and
    // never 0.12's core modules (a Prosody 13 that loads them fails at login).
    const modules = join(work, 'prosody-modules');
    run('dpkg', ['-x', deb('prosody-modules'), modules]);
    cpSync(join(modules, 'usr', 'lib', 'prosody', 'modules', 'mod_privilege'), join(dir, 'community', 'mod_privilege'), {
      recursive: true,
    });
    writeFileSync(join(dir, 'VERSIONS'), `prosody ${version}\nprosody-modules ${control(deb('prosody-modules'), 'Version')}\n`);
  });

export interface Ejabberd24 {
  version: string;
  prefix: string;
  /** usr/lib/<arch>/ejabberd-<version>: ebin/, include/, priv/. */
  ejabberdLib: string;
  /** p1_xmpp's directory (its include/ for building modules). */
  p1xmpp: string;
  /** ERL_LIBS for this ejabberd: the prefix's library directories, before the system's. */
  erlLibs: string[];
  /** The packaged ejabberdctl (a template: startEjabberd runs a copy). */
  ejabberdctl: string;
}

/** OTP's own applications: from the system's Erlang, never unpacked (one erts for all). */
const OTP_PACKAGES = new Set([
  'erlang-base',
  'erlang-base-hipe',
  'erlang-asn1',
  'erlang-crypto',
  'erlang-inets',
  'erlang-mnesia',
  'erlang-odbc',
  'erlang-os-mon',
  'erlang-public-key',
  'erlang-ssl',
  'erlang-syntax-tools',
  'erlang-xmerl',
  'erlang-runtime-tools',
  'erlang-tools',
]);

const ejabberdIn = (dir: string): Ejabberd24 | undefined => {
  const prefix = join(dir, 'root');
  const usrLib = join(prefix, 'usr', 'lib');
  if (!existsSync(usrLib)) return undefined;
  const ejabberdLib = readdirSync(usrLib)
    .map((d) => join(usrLib, d))
    .flatMap((d) => (existsSync(d) && !d.endsWith('erlang') ? readdirSync(d).map((e) => join(d, e)) : []))
    .find((d) => /\/ejabberd-\d+\.\d+$/.test(d) && existsSync(join(d, 'include', 'logger.hrl')));
  const erlLib = join(usrLib, 'erlang', 'lib');
  const p1 = existsSync(erlLib) ? readdirSync(erlLib).find((d) => /^p1_xmpp-\d/.test(d)) : undefined;
  const ejabberdctl = join(prefix, 'usr', 'sbin', 'ejabberdctl');
  if (!ejabberdLib || !p1 || !existsSync(ejabberdctl)) return undefined;
  return {
    version: (/ejabberd-([\d.]+)$/.exec(ejabberdLib)?.[1] as string) ?? 'unknown',
    prefix,
    ejabberdLib,
    p1xmpp: join(erlLib, p1),
    erlLibs: [join(ejabberdLib, '..'), erlLib],
    ejabberdctl,
  };
};

/** ejabberd 24.12 from bookworm-backports with the Erlang libraries it needs newer than bookworm's. */
export const ensureEjabberd24 = (options: InstallOptions = {}): Ejabberd24 =>
  installOnce('ejabberd-24', options, ejabberdIn, (dir, work, mirror) => {
    if (!installedVersion('ejabberd')) {
      throw new BackportsError(
        'the system ejabberd package (23.01) is missing: it brings the Erlang runtime and the libraries backports does not replace (apt-get install ejabberd)'
      );
    }
    const apt = privateApt(work, mirror);
    apt.update();
    const [ejabberd] = apt.download(['ejabberd']);
    if (!ejabberd) throw new BackportsError(`${SUITE} has no ejabberd`);
    const version = control(ejabberd, 'Version');
    if (!version.startsWith('24.')) throw new BackportsError(`${SUITE} has ejabberd ${version}, not 24.x`);

    // The libraries: every dependency (and theirs) that backports has in a
    // newer version, except OTP's own; the rest must be installed already.
    const taken = new Map<string, string>([['ejabberd', ejabberd]]);
    const needed: Dependency[] = [];
    let frontier = [ejabberd];
    while (frontier.length) {
      const deps = frontier.flatMap((deb) => parseDepends(control(deb, 'Depends')));
      needed.push(...deps);
      const candidates = [...new Set(deps.map((d) => d.name))].filter(
        (n) => n.startsWith('erlang-') && !OTP_PACKAGES.has(n) && !taken.has(n)
      );
      const fromBackports = [...apt.inBackports(candidates)];
      const files = fromBackports.length ? apt.download(fromBackports) : [];
      for (const f of files) taken.set(control(f, 'Package'), f);
      frontier = files;
    }

    // One Erlang runtime: the package's erlang-abi must be the system's.
    const problems: string[] = [];
    const abi = needed.find((d) => d.name === 'erlang-abi');
    const provides = installedVersion('erlang-base') ? run('dpkg-query', ['-W', '-f', dpkgFormat('Provides'), 'erlang-base']) : '';
    if (abi?.version && !provides.includes(`erlang-abi-${abi.version}`)) {
      problems.push(
        `ejabberd ${version} is built for erlang-abi ${abi.version}; the system's erlang-base provides ${provides || 'nothing'}`
      );
    }
    for (const d of needed) {
      if (taken.has(d.name) || !d.name.startsWith('erlang-') || d.name === 'erlang-abi') continue;
      const have = installedVersion(d.name);
      if (!have) problems.push(`${d.name} is not installed`);
      else if (d.op && d.version && !compare(have, d.op, d.version))
        problems.push(`${d.name} ${have} does not satisfy ${d.op} ${d.version}`);
    }
    if (problems.length) throw new BackportsError(`the system's Erlang cannot run it: ${[...new Set(problems)].join('; ')}`);

    for (const file of taken.values()) run('dpkg', ['-x', file, join(dir, 'root')]);
    writeFileSync(
      join(dir, 'VERSIONS'),
      `${[...taken.values()]
        .map((f) => `${control(f, 'Package')} ${control(f, 'Version')}`)
        .sort()
        .join('\n')}\n`
    );
  });

/** The tree under `dir` is readable by `user` (a service user, when we are root). */
export const readableBy = (user: string, file: string): boolean => {
  try {
    execFileSync('setpriv', [`--reuid=${user}`, `--regid=${user}`, '--init-groups', 'test', '-r', file], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

const main = () => {
  const wanted = process.argv.slice(2).map(localXmppFrom);
  for (const choice of wanted) {
    if (choice === 'prosody-13') {
      const p = ensureProsody13();
      console.log(`Prosody ${p.version} (${SUITE}) in ${p.prefix}`);
    } else if (choice === 'ejabberd-24') {
      const e = ensureEjabberd24();
      console.log(`ejabberd ${e.version} (${SUITE}) in ${e.prefix}`);
    }
  }
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main();
  } catch (e) {
    console.error(`\n${(e as Error).message}\n`);
    process.exit(1);
  }
}
