/**
 * Issue #18 containment on ejabberd: a reserved name through the module's
 * in-band registration, and an invite for a name that exists on the server.
 * A private ejabberd with modules/ejabberd/mod_xmpp_invites (compiled with
 * erlc), and the functions served in this process with an XMPP_SERVERS that
 * names it (the shared stack's functions know only the Prosody domain), as in
 * native.ejabberd.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { EjabberdProvisioner } from '../../lib/adapters/xmpp/EjabberdProvisioner.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { startEjabberd, type LocalEjabberd } from '../../scripts/local/ejabberd.js';
import { startInProcessService, startServiceProxy } from '../support/serviceProxy.js';
import { api, documentClientForStack, stack, uniqueName } from '../support/stack.js';
import { appPassword, registerWithApp, type XmppTarget } from '../support/xmppApp.js';

const DOMAIN = 'ejcontain.localhost';

let ej: LocalEjabberd;
let serviceUrl: string;
let adminKey: string;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const keys = new DynamoDBApiKeyStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
  const { secret: moduleKey } = await createApiKey(
    { store: keys, clock: systemClock },
    { name: uniqueName('ejabberd-module'), domains: [DOMAIN], kind: 'xmpp-server' }
  );
  ({ secret: adminKey } = await createApiKey(
    { store: keys, clock: systemClock },
    { name: uniqueName('ejabberd-admin'), domains: [DOMAIN] }
  ));
  try {
    const proxy = await startServiceProxy({ port: 9 });
    stops.push(() => proxy.stop());
    ej = await startEjabberd({
      domain: DOMAIN,
      invites: { url: proxy.url, key: moduleKey, timeoutMs: 6000, maxInvitesPerUser: 3, preauthPerMinute: 0 },
    });
    stops.push(() => ej.stop());
    const service = await startInProcessService({
      ...stack().env,
      INVITES_DOMAINS: DOMAIN,
      XMPP_SERVERS: JSON.stringify({
        [DOMAIN]: {
          kind: 'ejabberd',
          service: ej.service,
          adminJid: ej.adminJid,
          adminPassword: ej.adminPassword,
          apiUrl: ej.apiUrl,
          inAppInvites: true,
        },
      }),
    });
    stops.push(() => service.stop());
    proxy.setUpstream(service.port);
    serviceUrl = service.url;
  } catch (e) {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    throw e;
  }
}, 180_000);

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
});

const target = (): XmppTarget => ({ domain: DOMAIN, host: '127.0.0.1', port: ej.c2sPort, caFile: ej.caFile });
const asAdmin = (method: string, path: string, body?: unknown) => api(method, path, { body, auth: adminKey, baseUrl: serviceUrl });

describe('Containment on ejabberd', () => {
  it("answers an app's in-band registration of a reserved name with conflict, and spends nothing", async () => {
    const issued = await asAdmin('POST', '/invites', { domain: DOMAIN });
    expect(issued.status).toBe(201);

    const result = await registerWithApp('conversations', target(), {
      token: issued.body.token,
      username: 'postmaster',
      password: appPassword(),
    });

    expect(result.verdict).toBe('conflict');
    expect(result.register?.error).toMatchObject({ type: 'cancel', condition: 'conflict' });
    expect((await asAdmin('GET', `/invites/by-id/${issued.body.id}`)).body.uses).toBe(0);
  });

  it('refuses an invite for a name that exists on ejabberd (409 username-taken) and stores nothing', async () => {
    const name = uniqueName('ejtaken');
    const admin = new EjabberdProvisioner({
      server: { adminJid: ej.adminJid, apiUrl: ej.apiUrl, timeoutMs: 5000 },
      password: () => ej.adminPassword,
    });
    await admin.createAccount(`${name}@${DOMAIN}`, 'somebody else password');

    const taken = await asAdmin('POST', '/invites', { domain: DOMAIN, username: name });
    const free = await asAdmin('POST', '/invites', { domain: DOMAIN, username: uniqueName('ejfree') });

    expect([taken.status, taken.body.error]).toEqual([409, 'username-taken']);
    expect(free.status).toBe(201);
    const listed = await asAdmin('GET', `/invites?domain=${DOMAIN}&limit=200`);
    expect(listed.body.items.some((i: { username: string | null }) => i.username === name)).toBe(false);
  });
});
