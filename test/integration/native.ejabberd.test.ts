/**
 * The native-app contract (nativeContract.ts) against a private ejabberd
 * 23.01 with modules/ejabberd/mod_xmpp_invites loaded (compiled here with
 * erlc), plus what is ejabberd's own: the build, the per-address preauth
 * throttle, settings changed on a running server.
 *
 * The shared stack's functions know only the Prosody domain, so this file
 * serves the same functions (serverless.yml's routes, the real handlers) in
 * its own process with an XMPP_SERVERS that names this ejabberd; the module
 * reaches them through a proxy that can make the service unreachable or slow.
 * Open registration needs the service configured otherwise (its configuration
 * is read once per container, as on Lambda): a second in-process copy with
 * REGISTRATION_INVITE_ONLY=false, which the proxy points at while a test needs it.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { EjabberdProvisioner } from '../../lib/adapters/xmpp/EjabberdProvisioner.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { buildInvitesModule, startEjabberd, type LocalEjabberd } from '../../scripts/local/ejabberd.js';
import { startInProcessService, startServiceProxy, type InProcessService, type ServiceProxy } from '../support/serviceProxy.js';
import { documentClientForStack, stack, uniqueName } from '../support/stack.js';
import { appCanLogin, appPassword, AppSession, LoggedInApp, registerWithApp, XmppStream, type XmppTarget } from '../support/xmppApp.js';
import { nativeAppContract, stackServiceParts, type NativeServer } from './nativeContract.js';

/** A domain of its own: the shared table also holds other files' invites. */
const DOMAIN = 'ejnative.localhost';
const OTHER_DOMAIN = 'other.example';
/** The module's wait for the service: short, so the "slow service" cases stay quick. */
const MODULE_TIMEOUT_MS = 4000;
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
export const startEjabberdNative = async (): Promise<EjabberdNative> => {
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
      domain: DOMAIN,
      optionalTlsListener: true,
      invites: {
        url: proxy.url,
        key: moduleKey,
        timeoutMs: MODULE_TIMEOUT_MS,
        maxInvitesPerUser: ADHOC_QUOTA,
        // Every scripted app connects from 127.0.0.1: the throttle has its own test.
        preauthPerMinute: 0,
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
      serverLog: () => ej.log(),
      breakService: async (mode) => proxy.setMode(mode),
      // ejabberdctl unregister: ejabberd runs its remove_user hook.
      deleteAccount: async (jid) => {
        const [user, host] = jid.split('@') as [string, string];
        ej.ctl('unregister', user, host);
      },
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

let native: EjabberdNative;
beforeAll(async () => {
  native = await startEjabberdNative();
}, 180_000);
afterAll(async () => {
  await native?.shutdown();
});

// One ejabberd for the contract and the tests below: the contract's stop() is a no-op.
nativeAppContract('ejabberd', async () => native);

const target = (): XmppTarget => ({ domain: DOMAIN, host: '127.0.0.1', port: native.c2sPort, caFile: native.caFile });
const INVALID_TOKEN = { type: 'cancel', condition: 'item-not-found', text: 'Invalid or expired invite token' };
const INVITE_ONLY = { type: 'modify', condition: 'not-acceptable', text: 'Registration on this server is through invitation only' };

describe('mod_xmpp_invites on ejabberd 23.01', () => {
  it('is compiled once per source: a second build reuses the cached beam, and it loads without errors', () => {
    // Act
    const first = buildInvitesModule();
    const started = performance.now();
    const second = buildInvitesModule();

    // Assess
    expect(second).toBe(first);
    expect(performance.now() - started).toBeLessThan(200);
    expect(native.ej.log()).not.toMatch(/mod_xmpp_invites[^\n]*(error|crash|undef)/i);
  });

  it('throttles preauth per client address: past the limit a wait answer that spends nothing', async () => {
    // Prepare
    const invite = await native.issue({});
    native.ej.setInvites({ preauthPerMinute: 2 });
    const answers = [];
    try {
      // Act: five from one address (even across a minute boundary, one window gets three).
      for (let i = 0; i < 5; i++) {
        const session = await AppSession.open('monal', target());
        answers.push((await session.preauth('AAAAAAAAAAAAAAAAAAAAAAAA')).error);
        session.close();
      }
    } finally {
      native.ej.setInvites({ preauthPerMinute: 0 });
    }
    const later = await registerWithApp('monal', target(), { token: invite.token, username: uniqueName('calm'), password: appPassword() });

    // Assess
    expect(answers[0]).toEqual(INVALID_TOKEN);
    expect(answers).toContainEqual({ type: 'wait', condition: 'resource-constraint', text: expect.any(String) });
    expect(later.verdict).toBe('registered');
  });

  it("open registration stays closed where mod_register's access is none, and iq-register is still advertised", async () => {
    // Prepare
    await native.setOpenRegistration(true);
    native.ej.setInvites({ registerAccess: 'none' });
    const username = uniqueName('closed');
    let result;
    let features;
    try {
      // Act
      result = await registerWithApp('siskin', target(), { username, password: appPassword() });
      const session = await AppSession.open('conversations', target());
      features = session.features;
      session.close();
    } finally {
      native.ej.setInvites({ registerAccess: 'all' });
      await native.setOpenRegistration(false);
    }

    // Assess
    expect(result.register?.error).toEqual(INVITE_ONLY);
    expect(await native.admin.accountExists(`${username}@${DOMAIN}`)).toBe(false);
    expect(features).toEqual({ invite: true, ibrToken: true, iqRegister: true });
  });

  it('refuses preauth and registration on a stream that stayed in plaintext, and spends nothing', async () => {
    // Prepare: a listener where STARTTLS is optional (the contract's server requires it).
    const invite = await native.issue({});
    const username = uniqueName('plain');
    const plain = await XmppStream.open({ ...target(), port: native.ej.optionalTlsPort as number }, { tls: false });
    let preauth;
    let registration;
    try {
      // Act
      preauth = await plain.iq({ type: 'set', to: DOMAIN }, `<preauth xmlns='urn:xmpp:pars:0' token='${invite.token}'/>`, 10_000);
      registration = await plain.iq(
        { type: 'set', to: DOMAIN },
        `<query xmlns='jabber:iq:register'><username>${username}</username><password>${appPassword()}</password></query>`,
        10_000
      );
    } finally {
      plain.close();
    }

    // Assess
    expect(plain.secure).toBe(false);
    expect([preauth.type, preauth.error?.condition]).toEqual(['error', 'policy-violation']);
    expect([registration.type, registration.error?.condition]).toEqual(['error', 'policy-violation']);
    expect(await native.admin.accountExists(`${username}@${DOMAIN}`)).toBe(false);
    expect(await native.invite(invite.id)).toMatchObject({ uses: 0, status: 'valid' });
    expect(native.ej.log()).not.toContain(invite.token);
  });

  it('who may invite is an access rule: a command the user may not run is neither listed nor run', async () => {
    // Prepare
    const jid = `${uniqueName('plainuser')}@${DOMAIN}`;
    const password = appPassword();
    await native.admin.createAccount(jid, password);
    native.ej.setInvites({ createAccountAccess: 'none' });
    let commands: string[] = [];
    let refused;
    let allowed;
    try {
      const app = await LoggedInApp.login(target(), jid, password);
      try {
        // Act
        commands = await app.commands();
        refused = await app.adhoc('urn:xmpp:invite#create-account', { username: uniqueName('never') });
        allowed = await app.adhoc('urn:xmpp:invite#invite');
      } finally {
        app.close();
      }
    } finally {
      native.ej.setInvites({ createAccountAccess: 'all' });
    }

    // Assess
    expect(commands).toContain('urn:xmpp:invite#invite');
    expect(commands).not.toContain('urn:xmpp:invite#create-account');
    expect([refused.outcome.type, refused.outcome.error?.condition]).toEqual(['error', 'forbidden']);
    expect(refused.fields.uri).toBeUndefined();
    expect(allowed.status).toBe('completed');
    expect(allowed.fields.uri).toMatch(/^xmpp:.+\?roster;preauth=/);
  });

  it('a preset-username invite offers its username in both registration forms', async () => {
    // Prepare
    const username = uniqueName('offered');
    const invite = await native.issue({ username });
    const session = await AppSession.open('siskin', target());
    let form;
    try {
      expect((await session.preauth(invite.token)).type).toBe('result');

      // Act
      form = await session.form();
    } finally {
      session.close();
    }

    // Assess
    expect(form.legacy).toEqual(expect.arrayContaining(['username', 'password']));
    expect(form.dataForm?.find((f) => f.var === 'username')?.values).toEqual([username]);
    expect(await appCanLogin(target(), `${username}@${DOMAIN}`, 'x')).toBe(false);
  });
});
