import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { httpEvent, lambdaContext } from '../support/lambda.js';
import { api, expireInvite, stack, uniqueName, useStackEnv } from '../support/stack.js';

/**
 * `HEAD /i/{token}` over HTTP, through serverless-offline like the deployed
 * API: an app that scans the landing page's QR code (an https URL) asks with
 * HEAD and follows the `Link: <xmpp:…>; rel="alternate"` header.
 */

/** Two cores shared with other test runs: a cold function can take many seconds. */
const SLOW = { timeout: 180_000 };

const issue = async (body: Record<string, unknown> = {}) => {
  const res = await api('POST', '/invites', { body });
  if (res.status !== 201) throw new Error(`issue failed: ${res.status} ${res.text}`);
  return res.body as { id: string; token: string; uri: string; landingUrl: string };
};

const request = async (method: 'GET' | 'HEAD', token: string) => {
  const res = await fetch(`${stack().baseUrl}/i/${token}`, { method, redirect: 'manual' });
  const body = await res.text();
  return { status: res.status, link: res.headers.get('link'), type: res.headers.get('content-type'), body, headers: res.headers };
};

/** The same request both ways; GET's answer first, HEAD's second. */
const both = async (token: string) => [await request('GET', token), await request('HEAD', token)] as const;

describe('HEAD /i/{token}', SLOW, () => {
  it('a live invite: 200, the Link header to the invite URI and the page headers, no body; GET carries the same Link', async () => {
    const invite = await issue({});
    const [get, head] = await both(invite.token);

    expect(get.status).toBe(200);
    expect(get.link).toBe(`<${invite.uri}>; rel="alternate"`);
    expect(get.body).toContain('<html');

    expect(head.status).toBe(200);
    expect(head.link).toBe(`<${invite.uri}>; rel="alternate"`);
    expect(head.body).toBe('');
    for (const name of ['content-type', 'cache-control', 'content-security-policy', 'referrer-policy', 'x-robots-tag']) {
      expect(head.headers.get(name), name).toBe(get.headers.get(name));
    }
    // Asking does not use the invite.
    const shown = await api('GET', `/invites/by-id/${invite.id}`);
    expect(shown.body).toMatchObject({ uses: 0, status: 'valid' });
  });

  it('a contact invite: the Link is its roster URI', async () => {
    // The provisioning account exists on the test Prosody: an inviter like any other.
    const inviter = stack().prosody.adminJid;
    const invite = await issue({ type: 'contact', inviter });
    const [, head] = await both(invite.token);
    expect(head.status).toBe(200);
    expect(head.link).toBe(`<${invite.uri}>; rel="alternate"`);
    expect(invite.uri).toMatch(/\?roster;preauth=[A-Za-z0-9_-]{24};ibr=y$/);
  });

  it('dead tokens: the same status as GET and no Link header', async () => {
    const expired = await issue({ ttlSeconds: 60 });
    await expireInvite(expired.id);
    const revoked = await issue({});
    expect((await api('DELETE', `/invites/${revoked.id}`)).status).toBe(204);
    const used = await issue({});
    const redeemed = await api('POST', `/invites/${used.token}/redeem`, {
      body: { username: uniqueName('h'), password: 'correct horse battery' },
      auth: false,
    });
    expect(redeemed.status).toBe(201);

    const cases = [
      { name: 'expired', token: expired.token, status: 410 },
      { name: 'revoked', token: revoked.token, status: 410 },
      { name: 'used', token: used.token, status: 410 },
      { name: 'unknown', token: randomBytes(18).toString('base64url'), status: 404 },
      { name: 'malformed', token: 'not-a-token', status: 404 },
    ];
    for (const c of cases) {
      const [get, head] = await both(c.token);
      expect({ name: c.name, get: get.status, head: head.status }).toEqual({ name: c.name, get: c.status, head: c.status });
      expect({ name: c.name, get: get.link, head: head.link }).toEqual({ name: c.name, get: null, head: null });
      expect(head.body).toBe('');
      expect(get.body).toContain('data-status=');
    }
  });
});

/**
 * serverless-offline's hapi drops a HEAD answer's body by itself; API Gateway
 * hands HEAD straight to the function (the route in serverless.yml), so the
 * function must drop it: the real handler, in this process, against the stack.
 */
describe('HEAD /i/{token} in the function itself (as API Gateway invokes it)', SLOW, () => {
  type Result = { statusCode?: number; headers?: Record<string, unknown>; body?: string };
  const invokeLanding = async (method: 'GET' | 'HEAD', token: string): Promise<Result> => {
    useStackEnv();
    const { handler } = (await import('../../functions/landingPage.js')) as unknown as {
      handler: (event: unknown, context: unknown) => Promise<Result>;
    };
    const event = httpEvent({ method, path: `/i/${token}`, routeKey: `${method} /i/{token}`, pathParameters: { token } });
    return handler(event, lambdaContext('landingPage'));
  };

  it("answers a live and a dead token with GET's status and headers and an empty body", async () => {
    const live = await issue({});
    const unknown = randomBytes(18).toString('base64url');
    for (const [token, status, link] of [
      [live.token, 200, `<${live.uri}>; rel="alternate"`],
      [unknown, 404, undefined],
    ] as const) {
      const get = await invokeLanding('GET', token);
      const head = await invokeLanding('HEAD', token);
      expect({ get: get.statusCode, head: head.statusCode }).toEqual({ get: status, head: status });
      expect(get.body).toContain('<html');
      expect(head.body).toBe('');
      expect(head.headers?.link).toBe(link);
      expect(head.headers).toEqual(get.headers);
    }
  });
});
