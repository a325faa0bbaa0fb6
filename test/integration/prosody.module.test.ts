/**
 * What mod_xmpp_invites does for the Prosody operator, beyond what apps see
 * (native.prosody.test.ts): it says so in the log when Prosody's own invite
 * modules are loaded next to it, it names a refused key in the log (never a
 * token) while apps get "try later", and it throttles token checks per client
 * address. Each case runs on a private Prosody of its own, pointed at the
 * shared service, so the shared Prosody's settings stay untouched.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { createApiKey, generateApiKeySecret } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { startProsody, type LocalProsody } from '../../scripts/local/prosody.js';
import { api, documentClientForStack, issue, stack, uniqueName } from '../support/stack.js';
import { AppSession, appPassword, registerWithApp, type XmppTarget } from '../support/xmppApp.js';

/** The service as the module reaches it: by address, as serverless-offline listens. */
const serviceUrl = () => stack().baseUrl.replace('//localhost:', '//127.0.0.1:');

const moduleKey = async () => {
  const keys = new DynamoDBApiKeyStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
  const { secret } = await createApiKey(
    { store: keys, clock: systemClock },
    { name: uniqueName('prosody-module-test'), domains: ['localhost'], kind: 'xmpp-server' }
  );
  return secret;
};

const targetOf = (p: LocalProsody): XmppTarget => ({ domain: p.domain, host: '127.0.0.1', port: p.c2sPort, caFile: p.caFile });

const showInvite = async (id: string) => (await api('GET', `/invites/by-id/${id}`)).body as { uses: number; status: string };

describe('mod_xmpp_invites next to Prosody own invite modules, with a key the service refuses', () => {
  let prosody: LocalProsody;

  beforeAll(async () => {
    prosody = await startProsody({
      // mod_invites, mod_invites_register, mod_invites_adhoc: what an operator may forget to remove.
      withInvites: true,
      logLevel: 'debug',
      xmppInvites: { url: serviceUrl(), key: generateApiKeySecret(), timeoutSeconds: 15, preauthPerMinute: 1000 },
    });
  });
  afterAll(async () => {
    await prosody?.stop();
  });

  it('the log says which replaced modules are loaded and that they must go', async () => {
    // Act: modules may still be loading when the c2s port opens.
    const names = ['mod_invites', 'mod_invites_register', 'mod_invites_adhoc'];
    const warned = () => {
      const warnings = prosody
        .log()
        .split('\n')
        .filter((l) => l.includes('\twarn\t') && l.includes('mod_xmpp_invites replaces'));
      return names.filter((name) => warnings.some((l) => l.includes(`\t${name} is loaded next to mod_xmpp_invites`)));
    };
    const until = Date.now() + 10_000;
    while (warned().length < names.length && Date.now() < until) await new Promise((r) => setTimeout(r, 200));

    // Assess
    expect(warned()).toEqual(names);
  });

  it('a refused key: the app is told to wait, the invite is untouched, the log names the key and not the token', async () => {
    // Prepare
    const invite = await issue({});

    // Act
    const result = await registerWithApp('conversations', targetOf(prosody), {
      token: invite.token,
      username: uniqueName('refused'),
      password: appPassword(),
      timeoutMs: 30_000,
    });

    // Assess
    expect(result.preauth?.error).toMatchObject({ type: 'wait', condition: 'resource-constraint' });
    expect(await showInvite(invite.id)).toMatchObject({ uses: 0, status: 'valid' });
    const log = prosody.log();
    expect(log).toMatch(/\terror\tThe service refused xmpp_invites_key/);
    expect(log).not.toContain(invite.token);
  });
});

describe('mod_xmpp_invites throttles token checks per client address', () => {
  let prosody: LocalProsody;

  beforeAll(async () => {
    prosody = await startProsody({
      logLevel: 'debug',
      xmppInvites: { url: serviceUrl(), key: await moduleKey(), timeoutSeconds: 15, preauthPerMinute: 2 },
    });
  });
  afterAll(async () => {
    await prosody?.stop();
  });

  it('past the limit a preauth gets wait/resource-constraint without asking the service', async () => {
    // Prepare
    const invite = await issue({});
    const session = await AppSession.open('monal', targetOf(prosody));
    try {
      // Act
      const first = await session.preauth(invite.token, 30_000);
      const second = await session.preauth(invite.token, 30_000);
      const third = await session.preauth(invite.token, 30_000);

      // Assess
      expect([first.type, second.type]).toEqual(['result', 'result']);
      expect(third.error).toEqual({ type: 'wait', condition: 'resource-constraint', text: 'Too many attempts, try again later' });
    } finally {
      session.close();
    }
    expect(await showInvite(invite.id)).toMatchObject({ uses: 0, status: 'valid' });
    expect(prosody.log()).not.toContain(invite.token);
  });
});

describe('mod_xmpp_invites refuses a plain http:// service URL to a host that is not loopback', () => {
  let prosody: LocalProsody;

  beforeAll(async () => {
    prosody = await startProsody({
      logLevel: 'debug',
      // TEST-NET-1: nothing answers there, and the key must not travel to it in clear.
      xmppInvites: { url: 'http://192.0.2.1:9', key: await moduleKey(), timeoutSeconds: 15, preauthPerMinute: 1000 },
    });
  });
  afterAll(async () => {
    await prosody?.stop();
  });

  it('one error line says why at load, and apps are told to wait at once, with nothing sent', async () => {
    // Prepare
    const invite = await issue({});
    const session = await AppSession.open('monal', targetOf(prosody));
    let answer;
    const started = performance.now();
    try {
      // Act
      answer = await session.preauth(invite.token, 30_000);
    } finally {
      session.close();
    }
    const elapsed = performance.now() - started;

    // Assess: not after trying 192.0.2.1 until the 15 s timeout.
    expect(answer.error).toMatchObject({ type: 'wait', condition: 'resource-constraint' });
    expect(elapsed).toBeLessThan(5000);
    const refusals = readFileSync(join(prosody.dir, 'prosody.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('\terror\txmpp_invites_url is refused: plain http:// is allowed only to a loopback host'));
    expect(refusals).toHaveLength(1);
    expect(await showInvite(invite.id)).toMatchObject({ uses: 0, status: 'valid' });
  });
});
