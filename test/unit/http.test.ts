/**
 * The HTTP layer in-process, the way middy tests its middlewares: the real
 * chain (`httpRoute`), a stub Lambda context, no stack. The error map, body
 * limits and both kinds of key authentication.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transpileSchema } from '@middy/validator/transpile';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { ErrorCodes, InviteError } from '../../lib/errors.js';
import type { ApiKey, ApiKeyStore } from '../../lib/ports/ApiKeyStore.js';
import { adminAuth, anyone, xmppServerAuth } from '../../functions/http/auth.js';
import { STATUS, httpRoute, json, noBody, type RouteHandler, type RouteRequest } from '../../functions/http/route.js';
import type { Actor } from '../../lib/invites/actor.js';
import { moduleInput, xmppServerRoute } from '../../functions/http/xmppServerRoute.js';
import type { ModuleDomain } from '../../lib/invites/serverModule.js';
import { AJV_OPTIONS, eventSchema } from '../../functions/http/validators.build.js';
import {
  appInviteBody,
  issueBody,
  subscribeBody,
  type AppInviteBody,
  type EventValidator,
  type IssueBody,
  type PreauthBody,
  type SubscribeBody,
} from '../../functions/http/validators.generated.js';
import { invoke } from '../support/lambda.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

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
/** A public route without a body. */
const open = { auth: anyone, body: noBody };

describe('Function: httpRoute', () => {
  it('answers every error code with its status and a JSON body naming the code', async () => {
    for (const code of ErrorCodes) {
      const handler = httpRoute(async () => {
        throw new InviteError(code, `because ${code}`, { retryAfter: code === 'rate-limited' ? 7 : undefined });
      }, open);
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
    }, open);
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
      { auth: anyone, body: compiled({ type: 'object' }), maxBodyBytes: 300 }
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
      auth: anyone,
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
    const echo: RouteHandler<undefined, Actor> = async ({ actor }) => json(200, { source: actor.source });
    return {
      keys,
      api: api.secret,
      server: server.secret,
      admin: httpRoute(echo, { auth: adminAuth(keys), body: noBody }),
      module: httpRoute(echo, { auth: xmppServerAuth(keys), body: noBody }),
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

describe('Function: httpRoute types', () => {
  it('gives the handler its actor and its validated body, typed by the route (no cast in a handler)', async () => {
    const keys = new MemoryKeys();
    const { secret } = await createApiKey({ store: keys, clock }, { name: 'ops', domains: ['example.com'] });
    const handler = httpRoute(
      async ({ actor, body }) => {
        expectTypeOf(actor).toEqualTypeOf<Actor>();
        expectTypeOf(body).toEqualTypeOf<IssueBody>();
        return json(200, { source: actor.source, type: body.type ?? null, groups: body.groups ?? [] });
      },
      { auth: adminAuth(keys), body: issueBody }
    );
    const ok = await invoke(handler, {
      method: 'POST',
      path: '/x',
      body: { type: 'contact', groups: ['staff'] },
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ source: expect.stringMatching(/^api-key:/), type: 'contact', groups: ['staff'] });
    const bad = await invoke(handler, {
      method: 'POST',
      path: '/x',
      body: { type: 'other' },
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'invalid-request', message: expect.stringMatching(/^type: /) });
    // No key: 401 before the body is looked at.
    expect((await invoke(handler, { method: 'POST', path: '/x', body: { type: 'other' } })).status).toBe(401);
  });

  it('types an /xmpp/* handler by its own schema, under the checks every such route shares', () => {
    // Built, not called: the type checker is the test.
    httpRoute(
      async ({ actor, body }) => {
        expectTypeOf(actor).toEqualTypeOf<Actor>();
        expectTypeOf(body).toEqualTypeOf<SubscribeBody>();
        return json(200, {});
      },
      { body: subscribeBody, ...xmppServerRoute('subscribe', 'redeem') }
    );
  });

  it("checks an /xmpp/* body's domain once, before the handler, which hands the checked one to its use case", async () => {
    const keys = new MemoryKeys();
    const { secret } = await createApiKey({ store: keys, clock }, { name: 'prosody', domains: ['a.example'], kind: 'xmpp-server' });
    const seen: unknown[] = [];
    const handler = httpRoute(
      async (request) => {
        const input = moduleInput(request);
        expectTypeOf(input.domain).toEqualTypeOf<ModuleDomain>();
        seen.push(input);
        return json(200, {});
      },
      { body: appInviteBody, ...xmppServerRoute('invites'), auth: xmppServerAuth(keys) }
    );
    const call = (domain: string) =>
      invoke(handler, {
        method: 'POST',
        path: '/xmpp/invites',
        headers: { authorization: `Bearer ${secret}` },
        body: { domain, inviter: 'romeo@a.example', type: 'contact' },
      });

    const other = await call('b.example');
    const own = await call('A.Example.');

    // A key of domain A acting for domain B: refused before the handler runs.
    expect([other.status, other.body.error]).toEqual([403, 'forbidden']);
    expect(own.status).toBe(200);
    expect(seen).toEqual([{ domain: 'a.example', inviter: 'romeo@a.example', type: 'contact' }]);
    // No checked domain outside the route's own check.
    expect(() => moduleInput({ ...({} as RouteRequest<AppInviteBody, Actor>), body: { domain: 'a.example' } as AppInviteBody })).toThrow(
      /not checked/
    );
    // The one check: the /xmpp/* use cases take the domain it returns (ModuleDomain), nobody else calls it.
    const callers = ['lib', 'functions'].flatMap((dir) =>
      readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => join(dir, f))
        .filter((f) => /\bmoduleDomain\(/.test(readFileSync(join(ROOT, f), 'utf8')))
    );
    expect(callers).toEqual(['functions/http/xmppServerRoute.ts']);
  });

  it('reads the types of the bodies off their JSON schemas', () => {
    expectTypeOf<IssueBody>().toEqualTypeOf<{
      type?: 'account' | 'contact' | 'reset';
      domain?: string;
      inviter?: string;
      username?: string;
      maxUses?: number | null;
      ttlSeconds?: number;
      groups?: string[];
      roles?: string[];
      note?: string;
    }>();
    expectTypeOf<PreauthBody>().toEqualTypeOf<{ token: string; domain: string; address?: string }>();
  });
});
