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
 * points at while a test needs it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { EjabberdProvisioner } from '../../lib/adapters/xmpp/EjabberdProvisioner.js';
import { ProsodyProvisioner } from '../../lib/adapters/xmpp/ProsodyProvisioner.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { startEjabberd, type EjabberdVersion, type LocalEjabberd } from '../../scripts/local/ejabberd.js';
import { startProsody, type LocalProsody, type ProsodyVersion } from '../../scripts/local/prosody.js';
import { stackServiceParts, type NativeServer } from '../integration/nativeContract.js';
import { startInProcessService, startServiceProxy, type InProcessService, type ServiceProxy } from './serviceProxy.js';
import { documentClientForStack, stack, uniqueName } from './stack.js';
import { LoggedInApp } from './xmppApp.js';

const OTHER_DOMAIN = 'other.example';
/** The module's wait for the service: short, so the "slow service" cases stay quick. */
export const MODULE_TIMEOUT_MS = 4000;
/** The module's max_invites_per_user here. */
const ADHOC_QUOTA = 3;

export interface EjabberdNative extends NativeServer {
  ej: LocalEjabberd;
  service: InProcessService;
  proxy: ServiceProxy;
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
  const tableName = stack().env.INVITES_TABLE as string;
  const db = documentClientForStack();
  const keys = new DynamoDBApiKeyStore({ tableName, client: db });
  const { secret: moduleKey } = await createApiKey(
    { store: keys, clock: systemClock },
    { name: uniqueName('ejabberd-module'), domains: [DOMAIN], kind: 'xmpp-server' }
  );
  const { secret: adminKey } = await createApiKey(
    { store: keys, clock: systemClock },
    { name: uniqueName('ejabberd-admin'), domains: [DOMAIN, OTHER_DOMAIN], allowReset: true, inviters: 'any' }
  );
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
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
    const serviceEnv = {
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
    };
    const service = await startInProcessService(serviceEnv);
    stops.push(() => service.stop());
    proxy.setUpstream(service.port);
    let openService: InProcessService | undefined;
    stops.push(async () => openService?.stop());

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
      ...stackServiceParts(service.url, adminKey, { domain: DOMAIN }),
      setOpenRegistration: async (open) => {
        if (open) {
          openService ??= await startInProcessService({ ...serviceEnv, REGISTRATION_INVITE_ONLY: 'false' });
          proxy.setUpstream(openService.port);
        } else {
          proxy.setUpstream(service.port);
        }
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
      service,
      proxy,
      shutdown: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
};

/** The Prosody module's wait for the service (as in native.prosody.test.ts). */
const PROSODY_MODULE_TIMEOUT_SECONDS = 6;

/**
 * A private Prosody (13, say) with the module, pointed (through the proxy)
 * at the service served in this process. Open registration is switched the
 * way an operator would: a VirtualHost override in its config, then
 * Prosody's own reload commands.
 */
export const startProsodyNative = async ({
  version,
  domain,
}: {
  version: ProsodyVersion;
  domain: string;
}): Promise<NativeServer & { prosody: LocalProsody }> => {
  const tableName = stack().env.INVITES_TABLE as string;
  const keys = new DynamoDBApiKeyStore({ tableName, client: documentClientForStack() });
  const { secret: moduleKey } = await createApiKey(
    { store: keys, clock: systemClock },
    { name: uniqueName('prosody-module'), domains: [domain], kind: 'xmpp-server' }
  );
  const { secret: adminKey } = await createApiKey(
    { store: keys, clock: systemClock },
    { name: uniqueName('prosody-admin'), domains: [domain, OTHER_DOMAIN], allowReset: true, inviters: 'any' }
  );
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
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
    const serviceEnv = {
      ...stack().env,
      INVITES_DOMAINS: `${domain},${OTHER_DOMAIN}`,
      XMPP_TLS_CA_FILE: p.caFile,
      XMPP_SERVERS: JSON.stringify({
        [domain]: { kind: 'prosody', service: p.service, adminJid: p.adminJid, adminPassword: p.adminPassword, inAppInvites: true },
      }),
    };
    const service = await startInProcessService(serviceEnv);
    stops.push(() => service.stop());
    proxy.setUpstream(service.port);
    let openService: InProcessService | undefined;
    stops.push(async () => openService?.stop());

    const target = { domain, host: '127.0.0.1', port: p.c2sPort, caFile: p.caFile };
    const original = readFileSync(p.configFile, 'utf8');
    let current = { inviteOnly: true, createAccountForEveryone: false };
    const reconfigure = async () => {
      const lines = [
        ...(current.inviteOnly ? [] : ['  registration_invite_only = false']),
        // modules/README.md: how an operator lets every user run create-account.
        ...(current.createAccountForEveryone ? ['  xmpp_invites_allow_create_account = "local_users"'] : []),
      ];
      writeFileSync(p.configFile, lines.length === 0 ? original : `${original}\nVirtualHost "${domain}"\n${lines.join('\n')}\n`);
      const admin = await LoggedInApp.login(target, p.adminJid, p.adminPassword);
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
    const admin = ProsodyProvisioner.at({ ...p, password: () => p.adminPassword, timeoutMs: 5000, tlsCaFile: p.caFile });
    stops.push(() => admin.close());
    return {
      prosody: p,
      domain,
      c2sHost: '127.0.0.1',
      c2sPort: p.c2sPort,
      caFile: p.caFile,
      adminJid: p.adminJid,
      adminPassword: p.adminPassword,
      operatorJid: p.operatorJid,
      operatorPassword: p.operatorPassword,
      otherDomain: OTHER_DOMAIN,
      admin,
      serviceTimeoutMs: PROSODY_MODULE_TIMEOUT_SECONDS * 1000,
      adhocQuota: ADHOC_QUOTA,
      ...stackServiceParts(service.url, adminKey, { domain }),
      setOpenRegistration: async (open) => {
        if (open) {
          openService ??= await startInProcessService({ ...serviceEnv, REGISTRATION_INVITE_ONLY: 'false' });
          proxy.setUpstream(openService.port);
        } else {
          proxy.setUpstream(service.port);
        }
        current = { ...current, inviteOnly: !open };
        await reconfigure();
      },
      setCreateAccountForEveryone: async (open) => {
        current = { ...current, createAccountForEveryone: open };
        await reconfigure();
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
      breakService: async (mode) => proxy.setMode(mode),
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
};
