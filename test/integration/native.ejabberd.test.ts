/**
 * The native-app contract against a private ejabberd 23.01 with
 * modules/ejabberd/mod_xmpp_invites loaded (compiled here with erlc).
 *
 * The shared stack's functions know only the Prosody domain, so this file
 * serves the same functions (serverless.yml's routes, the real handlers) in
 * its own process with an XMPP_SERVERS that names this ejabberd; the module
 * reaches them through a proxy that can make the service unreachable or slow.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBApiKeyStore } from '../../lib/adapters/DynamoDBApiKeyStore.js';
import { EjabberdProvisioner } from '../../lib/adapters/EjabberdProvisioner.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { buildInvitesModule, startEjabberd, type LocalEjabberd } from '../../scripts/local/ejabberd.js';
import { startInProcessService, startServiceProxy, type InProcessService, type ServiceProxy } from '../support/serviceProxy.js';
import { documentClientForStack, stack, uniqueName } from '../support/stack.js';
import { appCanLogin, appPassword, AppSession, registerWithApp, type XmppTarget } from '../support/xmppApp.js';

/** A domain of its own: the shared table also holds other files' invites. */
const DOMAIN = 'ejnative.localhost';
/** The module's wait for the service: short, so the "slow service" case stays quick. */
const MODULE_TIMEOUT_MS = 2500;

export interface EjabberdNative {
  ej: LocalEjabberd;
  service: InProcessService;
  proxy: ServiceProxy;
  adminKey: string;
  target: XmppTarget;
  admin: EjabberdProvisioner;
  stop(): Promise<void>;
}

/**
 * ejabberd with the module, pointed (through the proxy) at the service
 * served in this process, with an xmpp-server key for its domain.
 */
export const startEjabberdNative = async (env: Record<string, string> = {}): Promise<EjabberdNative> => {
  const tableName = stack().env.INVITES_TABLE as string;
  const keys = new DynamoDBApiKeyStore({ tableName, client: documentClientForStack() });
  const { secret: moduleKey } = await createApiKey(
    { store: keys, clock: systemClock },
    { name: uniqueName('ejabberd-module'), domains: [DOMAIN], kind: 'xmpp-server' }
  );
  const { secret: adminKey } = await createApiKey(
    { store: keys, clock: systemClock },
    { name: uniqueName('ejabberd-admin'), domains: [DOMAIN, 'other.example'], allowReset: true }
  );
  const stops: (() => Promise<void>)[] = [];
  try {
    const proxy = await startServiceProxy({ port: 9 });
    stops.push(() => proxy.stop());
    const ej = await startEjabberd({ domain: DOMAIN, invites: { url: proxy.url, key: moduleKey, timeoutMs: MODULE_TIMEOUT_MS } });
    stops.push(() => ej.stop());
    const service = await startInProcessService({
      ...stack().env,
      INVITES_DOMAINS: `${DOMAIN},other.example`,
      XMPP_SERVERS: JSON.stringify({
        [DOMAIN]: { kind: 'ejabberd', service: ej.service, adminJid: ej.adminJid, adminPassword: ej.adminPassword, apiUrl: ej.apiUrl },
      }),
      ...env,
    });
    stops.push(() => service.stop());
    proxy.setUpstream(service.port);
    const admin = new EjabberdProvisioner({ server: { adminJid: ej.adminJid, apiUrl: ej.apiUrl, timeoutMs: 5000 }, password: () => ej.adminPassword });
    return {
      ej,
      service,
      proxy,
      adminKey,
      target: { domain: DOMAIN, host: '127.0.0.1', port: ej.c2sPort, caFile: ej.caFile },
      admin,
      stop: async () => {
        for (const stop of stops.reverse()) await stop();
      },
    };
  } catch (e) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw e;
  }
};

let native: EjabberdNative;
beforeAll(async () => {
  native = await startEjabberdNative();
}, 120_000);
afterAll(async () => {
  await native?.stop();
});

const issue = async (body: Record<string, unknown>) => {
  const res = await fetch(`${native.service.url}/invites`, {
    method: 'POST',
    headers: { authorization: `Bearer ${native.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ domain: DOMAIN, ...body }),
  });
  const json = (await res.json()) as { token: string; uri: string; id: string };
  if (res.status !== 201) throw new Error(`issue failed: ${res.status} ${JSON.stringify(json)}`);
  return json;
};

describe('mod_xmpp_invites on ejabberd 23.01: build and load', () => {
  it('compiles once per source: a second build reuses the cached beam', () => {
    // Act
    const first = buildInvitesModule();
    const started = performance.now();
    const second = buildInvitesModule();

    // Assess
    expect(second).toBe(first);
    expect(performance.now() - started).toBeLessThan(200);
    expect(native.ej.log()).not.toMatch(/mod_xmpp_invites.*(error|failed)/i);
  });

  it('advertises both invite features and iq-register on the TLS stream', async () => {
    // Act
    const session = await AppSession.open('conversations', native.target);
    try {
      // Assess
      expect(session.stream.secure).toBe(true);
      expect(session.features).toEqual({ invite: true, ibrToken: true, iqRegister: true });
    } finally {
      session.close();
    }
  });

  it('registers a Conversations user with an account invite through the service', async () => {
    // Prepare
    const { token } = await issue({});
    const username = uniqueName('conv');
    const password = appPassword();

    // Act
    const result = await registerWithApp('conversations', native.target, { token, username, password });

    // Assess
    expect(result.preauth?.type).toBe('result');
    expect(result.verdict).toBe('registered');
    expect(await appCanLogin(native.target, `${username}@${DOMAIN}`, password)).toBe(true);
  });
});
