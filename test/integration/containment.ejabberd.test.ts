/**
 * Issue #18 containment on ejabberd: a reserved name through the module's
 * in-band registration, and an invite for a name that exists on the server.
 * A private ejabberd with modules/ejabberd/mod_xmpp_invites (compiled with
 * erlc), and the functions served in this process with an XMPP_SERVERS that
 * names it (the shared stack's functions know only the Prosody domain): the
 * same server as native.ejabberd.test.ts's (startEjabberdNative), on a domain
 * of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEjabberdNative, type EjabberdNative } from '../support/nativeServers.js';
import { api, uniqueName } from '../support/stack.js';
import { appPassword, registerWithApp, type XmppTarget } from '../support/xmppApp.js';

const DOMAIN = 'ejcontain.localhost';

let native: EjabberdNative;

beforeAll(async () => {
  native = await startEjabberdNative({ version: '23.01', domain: DOMAIN });
}, 180_000);

afterAll(async () => {
  await native?.shutdown();
});

const target = (): XmppTarget => ({ domain: DOMAIN, host: '127.0.0.1', port: native.c2sPort, caFile: native.caFile });
const asAdmin = (method: string, path: string, body?: unknown) =>
  api(method, path, { body, auth: native.adminKey, baseUrl: native.service.url });

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
    await native.admin.createAccount(`${name}@${DOMAIN}`, 'somebody else password');

    const taken = await asAdmin('POST', '/invites', { domain: DOMAIN, username: name });
    const free = await asAdmin('POST', '/invites', { domain: DOMAIN, username: uniqueName('ejfree') });

    expect([taken.status, taken.body.error]).toEqual([409, 'username-taken']);
    expect(free.status).toBe(201);
    const listed = await asAdmin('GET', `/invites?domain=${DOMAIN}&limit=200`);
    expect(listed.body.items.some((i: { username: string | null }) => i.username === name)).toBe(false);
  });
});
