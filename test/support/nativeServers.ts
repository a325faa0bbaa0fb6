/**
 * Private servers running our module for the native-app contract
 * (test/integration/nativeContract.ts), one per version: ejabberd 23.01 and
 * 24.12 (native.ejabberd*.test.ts), Prosody 13 (native.prosody13.test.ts;
 * native.prosody.test.ts uses the shared stack's Prosody).
 *
 * The shared stack's functions know only the shared Prosody's domain, so each
 * server gets the same functions (serverless.yml's routes, the real handlers)
 * served in the test's own process, with an XMPP_SERVERS that names that
 * server, on a domain of its own (the shared table also holds other files'
 * invites); the module reaches them through a proxy that can make the service
 * unreachable or slow. Open registration needs the service configured
 * otherwise (its configuration is read once per container, as on Lambda): a
 * second in-process copy with REGISTRATION_INVITE_ONLY=false, which the proxy
 * points at while a test needs it (`serveBehind`, test/support/serviceProxy.ts).
 *
 * A Prosody's switches are flipped the way an operator does, a VirtualHost
 * override in its config and Prosody's own reload commands
 * (`reconfigureProsody`, `prosodyControls`): native.prosody.test.ts does the
 * same to the shared stack's Prosody.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { EjabberdProvisioner } from '../../lib/adapters/xmpp/EjabberdProvisioner.js';
import { ProsodyProvisioner } from '../../lib/adapters/xmpp/ProsodyProvisioner.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { startEjabberd, type EjabberdVersion, type LocalEjabberd } from '../../scripts/local/ejabberd.js';
import { startProsody, type LocalProsody, type ProsodyAccess, type ProsodyVersion } from '../../scripts/local/prosody.js';
import { stackServiceParts, type NativeServer } from '../integration/nativeContract.js';
import { serveBehind, startServiceProxy, type InProcessService, type ServiceBehindProxy, type ServiceProxy } from './serviceProxy.js';
import { documentClientForStack, stack, uniqueName } from './stack.js';
import { LoggedInApp, type XmppTarget } from './xmppApp.js';

const OTHER_DOMAIN = 'other.example';
/** The module's wait for the service: short, so the "slow service" cases stay quick. */
export const MODULE_TIMEOUT_MS = 4000;
/** The module's max_invites_per_user here. */
const ADHOC_QUOTA = 3;

/** The module's key (kind xmpp-server) for its domain, and an admin key for that domain and OTHER_DOMAIN. */
const nativeKeys = async (server: 'ejabberd' | 'prosody', domain: string) => {
  const deps = {
    store: new DynamoDBApiKeyStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() }),
    clock: systemClock,
  };
  const { secret: moduleKey } = await createApiKey(deps, { name: uniqueName(`${server}-module`), domains: [domain], kind: 'xmpp-server' });
  const { secret: adminKey } = await createApiKey(deps, {
    name: uniqueName(`${server}-admin`),
    domains: [domain, OTHER_DOMAIN],
    allowReset: true,
    inviters: 'any',
  });
  return { moduleKey, adminKey };
};

/**
 * Runs `start` with a list to push each started part's stop to: if it
 * throws, what was started is stopped (last first). `stopAll` does the same later.
 */
const startingAll = async <T>(start: (stops: (() => Promise<void>)[], stopAll: () => Promise<void>) => Promise<T>): Promise<T> => {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
    return await start(stops, stopAll);
  } catch (e) {
    await stopAll();
    throw e;
  }
};

export interface EjabberdNative extends NativeServer {
  ej: LocalEjabberd;
  service: InProcessService;
  proxy: ServiceProxy;
  /** An admin key of the domain (and OTHER_DOMAIN), for the service in this process. */
  adminKey: string;
  /** Really stops everything (the contract's stop() leaves the server to this file). */
  shutdown(): Promise<void>;
}

/**
 * ejabberd with the module, pointed (through the proxy) at the service
 * served in this process, with an xmpp-server key for its domain.
 */
export const startEjabberdNative = async (
  { version, domain: DOMAIN }: { version: EjabberdVersion; domain: string } = { version: '23.01', domain: 'ejnative.localhost' }
): Promise<EjabberdNative> => {
  const { moduleKey, adminKey } = await nativeKeys('ejabberd', DOMAIN);
  return startingAll(async (stops, stopAll) => {
    const proxy = await startServiceProxy({ port: 9 });
    stops.push(() => proxy.stop());
    const ej = await startEjabberd({
      version,
      domain: DOMAIN,
      optionalTlsListener: true,
      invites: {
        url: proxy.url,
        key: moduleKey,
        timeoutMs: MODULE_TIMEOUT_MS,
        maxInvitesPerUser: ADHOC_QUOTA,
        // Every scripted app connects from 127.0.0.1: the throttle has its own test.
        preauthPerMinute: 0,
        // The same for subscriptions with tokens (their throttle's test sets it).
        subscribePerMinute: 0,
      },
    });
    stops.push(() => ej.stop());
    const served = await serveBehind(proxy, {
      ...stack().env,
      INVITES_DOMAINS: `${DOMAIN},${OTHER_DOMAIN}`,
      XMPP_SERVERS: JSON.stringify({
        [DOMAIN]: {
          kind: 'ejabberd',
          service: ej.service,
          adminJid: ej.adminJid,
          adminPassword: ej.adminPassword,
          apiUrl: ej.apiUrl,
          // This server runs the module: apps may open its invites.
          inAppInvites: true,
        },
      }),
    });
    stops.push(() => served.stop());

    const admin = new EjabberdProvisioner({
      server: { adminJid: ej.adminJid, apiUrl: ej.apiUrl, timeoutMs: 5000 },
      password: () => ej.adminPassword,
    });
    return {
      domain: DOMAIN,
      c2sHost: '127.0.0.1',
      c2sPort: ej.c2sPort,
      caFile: ej.caFile,
      adminJid: ej.adminJid,
      adminPassword: ej.adminPassword,
      operatorJid: ej.operatorJid,
      operatorPassword: ej.operatorPassword,
      otherDomain: OTHER_DOMAIN,
      admin,
      serviceTimeoutMs: MODULE_TIMEOUT_MS,
      adhocQuota: ADHOC_QUOTA,
      ...stackServiceParts(served.service.url, adminKey, { domain: DOMAIN }),
      setOpenRegistration: async (open) => {
        await served.setOpenRegistration(open);
        // Both switches move together: the module's invite_only and the service's.
        ej.setInvites({ inviteOnly: !open });
      },
      setCreateAccountForEveryone: async (open) => {
        // The module's default is the `admin` ACL; `all` is every local user.
        ej.setInvites({ createAccountAccess: open ? 'all' : undefined });
      },
      serverLog: () => ej.log(),
      // ejabberdctl unregister: ejabberd runs its remove_user hook.
      deleteAccount: async (jid) => {
        const [user, host] = jid.split('@') as [string, string];
        ej.ctl('unregister', user, host);
      },
      breakService: async (mode) => proxy.setMode(mode),
      stop: async () => undefined,
      ej,
      service: served.service,
      proxy,
      adminKey,
      shutdown: stopAll,
    };
  });
};

/** Where an app reaches the Prosody (its c2s port, from `service`). */
export const prosodyTarget = (p: ProsodyAccess): XmppTarget => ({
  domain: p.domain,
  host: '127.0.0.1',
  port: Number(new URL(p.service.replace(/^xmpp:/, 'http:')).port),
  caFile: p.caFile,
});

export type ModuleOptions = Record<string, string | number | boolean | string[]>;

const luaValue = (v: ModuleOptions[string]): string =>
  Array.isArray(v) ? `{ ${v.map((e) => JSON.stringify(e)).join('; ')} }` : typeof v === 'string' ? JSON.stringify(v) : String(v);

/**
 * Overrides module options for the host's VirtualHost (on top of `original`,
 * the configuration as it was written), then reloads the configuration and
 * the module (options are read when the module loads) through Prosody's own
 * admin commands, as an operator would. `undefined` restores `original`.
 */
export const reconfigureProsody = async (p: ProsodyAccess, original: string, options: ModuleOptions | undefined) => {
  const lines = Object.entries(options ?? {}).map(([k, v]) => `  ${k} = ${luaValue(v)}`);
  writeFileSync(
    p.configFile,
    options
      ? `${original}\n-- a test's override (test/support/nativeServers.ts; removed when it ends)\nVirtualHost "${p.domain}"\n${lines.join('\n')}\n`
      : original
  );
  const admin = await LoggedInApp.login(prosodyTarget(p), p.adminJid, p.adminPassword);
  try {
    const config = await admin.adhoc('http://prosody.im/protocol/config#reload', {});
    const modules = await admin.adhoc('http://prosody.im/protocol/modules#reload', { modules: 'xmpp_invites' });
    for (const step of [config, modules]) {
      if (step.status !== 'completed' || step.notes.some((n) => n.type === 'error')) {
        throw new Error(`Prosody reload failed: ${JSON.stringify(step.notes)} ${step.outcome.error?.condition ?? ''}`);
      }
    }
  } finally {
    admin.close();
  }
};

/**
 * What the contract asks of a Prosody beyond the service: where apps reach
 * it, its accounts, its log, an operator's XEP-0133 delete, and the two
 * switches (module options over the configuration as it is now, `base`
 * always among them; open registration also moves the proxy, `served`).
 * `apply` writes the options as they stand, `restore` the configuration as it was.
 */
export const prosodyControls = (p: ProsodyAccess, served: ServiceBehindProxy, base: ModuleOptions = {}) => {
  const original = readFileSync(p.configFile, 'utf8');
  const target = prosodyTarget(p);
  let current = { inviteOnly: true, createAccountForEveryone: false };
  const apply = () =>
    reconfigureProsody(p, original, {
      ...base,
      registration_invite_only: current.inviteOnly,
      // modules/README.md: how an operator lets every user run create-account.
      ...(current.createAccountForEveryone ? { xmpp_invites_allow_create_account: 'local_users' } : {}),
    });
  const parts: Pick<
    NativeServer,
    | 'domain'
    | 'c2sHost'
    | 'c2sPort'
    | 'caFile'
    | 'adminJid'
    | 'adminPassword'
    | 'operatorJid'
    | 'operatorPassword'
    | 'setOpenRegistration'
    | 'setCreateAccountForEveryone'
    | 'serverLog'
    | 'deleteAccount'
  > = {
    domain: p.domain,
    c2sHost: target.host,
    c2sPort: target.port,
    caFile: p.caFile,
    adminJid: p.adminJid,
    adminPassword: p.adminPassword,
    operatorJid: p.operatorJid,
    operatorPassword: p.operatorPassword,
    setOpenRegistration: async (open) => {
      await served.setOpenRegistration(open);
      current = { ...current, inviteOnly: !open };
      await apply();
    },
    setCreateAccountForEveryone: async (open) => {
      current = { ...current, createAccountForEveryone: open };
      await apply();
    },
    serverLog: () => readFileSync(join(p.dir, 'prosody.log'), 'utf8'),
    deleteAccount: async (jid) => {
      // XEP-0133 "Delete a User", as an operator's client does: Prosody fires user-deleted.
      const operator = await LoggedInApp.login(target, p.operatorJid, p.operatorPassword);
      try {
        const done = await operator.adhoc('http://jabber.org/protocol/admin#delete-user', { accountjids: jid });
        if (done.status !== 'completed' || done.notes.some((n) => n.type === 'error')) {
          throw new Error(`delete-user failed: ${JSON.stringify(done.notes)} ${done.outcome.error?.condition ?? ''}`);
        }
      } finally {
        operator.close();
      }
    },
  };
  return { apply, restore: () => reconfigureProsody(p, original, undefined), parts };
};

/** The Prosody module's wait for the service (as in native.prosody.test.ts). */
const PROSODY_MODULE_TIMEOUT_SECONDS = 6;

/**
 * A private Prosody (13, say) with the module, pointed (through the proxy)
 * at the service served in this process.
 */
export const startProsodyNative = async ({
  version,
  domain,
}: {
  version: ProsodyVersion;
  domain: string;
}): Promise<NativeServer & { prosody: LocalProsody }> => {
  const { moduleKey, adminKey } = await nativeKeys('prosody', domain);
  return startingAll(async (stops, stopAll) => {
    const proxy = await startServiceProxy({ port: 9 });
    stops.push(() => proxy.stop());
    const p = await startProsody({
      version,
      domain,
      logLevel: 'debug',
      xmppInvites: {
        url: proxy.url,
        key: moduleKey,
        timeoutSeconds: PROSODY_MODULE_TIMEOUT_SECONDS,
        maxLiveInvites: ADHOC_QUOTA,
        preauthPerMinute: 1_000_000,
      },
    });
    stops.push(() => p.stop());
    const served = await serveBehind(proxy, {
      ...stack().env,
      INVITES_DOMAINS: `${domain},${OTHER_DOMAIN}`,
      XMPP_TLS_CA_FILE: p.caFile,
      XMPP_SERVERS: JSON.stringify({
        [domain]: { kind: 'prosody', service: p.service, adminJid: p.adminJid, adminPassword: p.adminPassword, inAppInvites: true },
      }),
    });
    stops.push(() => served.stop());
    const admin = ProsodyProvisioner.at({ ...p, password: () => p.adminPassword, timeoutMs: 5000, tlsCaFile: p.caFile });
    stops.push(() => admin.close());
    return {
      prosody: p,
      ...prosodyControls(p, served).parts,
      otherDomain: OTHER_DOMAIN,
      admin,
      serviceTimeoutMs: PROSODY_MODULE_TIMEOUT_SECONDS * 1000,
      adhocQuota: ADHOC_QUOTA,
      ...stackServiceParts(served.service.url, adminKey, { domain }),
      breakService: async (mode) => proxy.setMode(mode),
      stop: stopAll,
    };
  });
};
