/**
 * The HTTP layer in-process, the way middy tests its middlewares: the real
 * chain (`httpRoute`), a stub Lambda context, no stack. The error map, body
 * limits and both kinds of key authentication.
 */
import { transpileSchema } from '@middy/validator/transpile';
import { describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { ErrorCodes, InviteError } from '../../lib/errors.js';
import type { ApiKey, ApiKeyStore } from '../../lib/ports/ApiKeyStore.js';
import { adminAuth, type AdminContext } from '../../functions/wiring/deps.js';
import { STATUS, httpRoute, json } from '../../functions/http/route.js';
import { xmppServerAuth } from '../../functions/http/xmppServerRoute.js';
import { AJV_OPTIONS, eventSchema } from '../../functions/http/validators.build.js';
import type { EventValidator } from '../../functions/http/validators.generated.js';
import { invoke } from '../support/lambda.js';

/** A body schema compiled at run time (the functions' own come precompiled: validators.build.ts). */
const compiled = (body: object) => transpileSchema(eventSchema(body), { ...AJV_OPTIONS }) as unknown as EventValidator;

class MemoryKeys implements ApiKeyStore {
  readonly keys = new Map<string, ApiKey>();
  public async put(key: ApiKey) {
    this.keys.set(key.id, key);
  }
  public async get(id: string) {
    return this.keys.get(id);
  }
  public async list() {
    return [...this.keys.values()];
  }
  public async revoke(id: string, now: number) {
    const key = this.keys.get(id);
    if (key) key.revokedAt = now;
    return key !== undefined;
  }
}
const clock = { now: () => 1_900_000_000 };

describe('Function: httpRoute', () => {
  it('answers every error code with its status and a JSON body naming the code', async () => {
    for (const code of ErrorCodes) {
      const handler = httpRoute(async () => {
        throw new InviteError(code, `because ${code}`, { retryAfter: code === 'rate-limited' ? 7 : undefined });
      });
      const res = await invoke(handler, { method: 'GET', path: '/x' });
      expect(res.status, code).toBe(STATUS[code]);
      expect(res.body, code).toMatchObject({ error: code });
      if (code === 'rate-limited') expect(res.headers['retry-after']).toBe('7');
      if (STATUS[code] === 401) expect(res.headers['www-authenticate']).toBe('Bearer');
    }
  });

  it('answers an unexpected failure 500 internal without its message', async () => {
    const handler = httpRoute(async () => {
      throw Object.assign(new Error('Transaction cancelled [ConditionalCheckFailed]'), {
        CancellationReasons: [{ Code: 'ConditionalCheckFailed', Item: { fingerprint: { S: 'secret' } } }],
      });
    });
    const res = await invoke(handler, { method: 'GET', path: '/x' });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'internal', message: 'something went wrong on our side' });
    expect(res.text).not.toContain('secret');
  });

  it('refuses a body over the limit with 413 before parsing it', async () => {
    let ran = false;
    const handler = httpRoute(
      async () => {
        ran = true;
        return json(200, {});
      },
      { body: compiled({ type: 'object' }), maxBodyBytes: 300 }
    );
    const res = await invoke(handler, {
      method: 'POST',
      path: '/x',
      raw: JSON.stringify({ a: 'x'.repeat(400) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error: 'body-too-large' });
    expect(ran).toBe(false);
  });

  it('answers malformed JSON with invalid-json and a schema violation with invalid-request naming the field', async () => {
    const handler = httpRoute(async () => json(200, {}), {
      body: compiled({ type: 'object', additionalProperties: false, properties: { n: { type: 'integer' } } }),
    });
    const broken = await invoke(handler, { method: 'POST', path: '/x', raw: '{"n": ', headers: { 'content-type': 'application/json' } });
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({ error: 'invalid-json' });
    const wrong = await invoke(handler, { method: 'POST', path: '/x', body: { n: '1' } });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ error: 'invalid-request' });
    expect(wrong.body.message).toContain('n');
  });
});

describe('Middleware: adminAuth and xmppServerAuth', () => {
  const setup = async () => {
    const keys = new MemoryKeys();
    const api = await createApiKey({ store: keys, clock }, { name: 'ops', domains: ['example.com'] });
    const server = await createApiKey({ store: keys, clock }, { name: 'prosody', domains: ['example.com'], kind: 'xmpp-server' });
    const echo = async (_e: unknown, context: unknown) => json(200, { source: (context as AdminContext).actor.source });
    return {
      keys,
      api: api.secret,
      server: server.secret,
      admin: httpRoute(echo, { use: [adminAuth(keys)] }),
      module: httpRoute(echo, { use: [xmppServerAuth(keys)] }),
    };
  };
  const call = (handler: unknown, key?: string) =>
    invoke(handler, { method: 'GET', path: '/x', headers: key ? { authorization: `Bearer ${key}` } : {} });

  it('lets each kind of key through only its own routes', async () => {
    const s = await setup();
    expect((await call(s.admin, s.api)).body).toMatchObject({ source: expect.stringMatching(/^api-key:/) });
    expect((await call(s.module, s.server)).body).toMatchObject({ source: expect.stringMatching(/^xmpp-server:/) });
    expect((await call(s.admin, s.server)).status).toBe(403);
    expect((await call(s.module, s.api)).status).toBe(403);
  });

  it('answers 401 for no key, a malformed one, an unknown one and a revoked one', async () => {
    const s = await setup();
    const [first] = await s.keys.list();
    await s.keys.revoke(first!.id, clock.now());
    for (const key of [undefined, 'not-a-key', `xik_${'A'.repeat(43)}`, s.api]) {
      const res = await call(s.admin, key);
      expect(res.status, String(key)).toBe(401);
      expect(res.body).toMatchObject({ error: 'unauthorized' });
    }
  });
});
