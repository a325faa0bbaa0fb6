import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../lib/token.js';
import { httpEvent, lambdaContext } from '../support/lambda.js';
import { stack, uniqueName, useStackEnv } from '../support/stack.js';

/**
 * "No secret in any log" (#21): the console's function in this process, its
 * log at DEBUG captured (Powertools writes to stdout), through a failed and a
 * good sign-in, an invite and a key created, a refused form and a revoke.
 * None of the admin key, its id, the session cookie, the invite's token or
 * the new key may appear in what it wrote.
 */
type Result = { statusCode: number; body?: string; cookies?: string[]; headers?: Record<string, string> };
type Handler = (event: unknown, context: unknown) => Promise<Result>;

let handler: Handler;
const written: string[] = [];
const writes = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
const sourceIp = `198.51.100.${1 + ((randomBytes(1)[0] as number) % 250)}`;

const call = async (
  method: string,
  path: string,
  options: { form?: Record<string, string>; cookie?: string; query?: Record<string, string> } = {}
) =>
  handler(
    httpEvent({
      method,
      path,
      sourceIp,
      query: options.query,
      headers: {
        ...(options.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...(options.cookie ? { cookie: options.cookie } : {}),
      },
      raw: options.form ? new URLSearchParams(options.form).toString() : undefined,
    }),
    lambdaContext()
  );

const csrfOf = (html: string | undefined) => /name="csrf" value="([^"]+)"/.exec(html ?? '')?.[1] as string;

beforeAll(async () => {
  useStackEnv();
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  handler = (await import('../../functions/adminConsole.js')).handler as unknown as Handler;
  const capture =
    (original: typeof process.stdout.write) =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      written.push(String(chunk));
      return (original as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
    };
  process.stdout.write = capture(writes.out) as typeof process.stdout.write;
  process.stderr.write = capture(writes.err) as typeof process.stderr.write;
});

afterAll(() => {
  process.stdout.write = writes.out;
  process.stderr.write = writes.err;
});

describe('the console writes no secret to its log', () => {
  it('through sign-in, create, refuse and revoke', async () => {
    const wrong = `xik_${randomBytes(32).toString('base64url')}`;
    expect((await call('POST', '/admin/session', { form: { key: wrong } })).statusCode).toBe(401);
    const signedIn = await call('POST', '/admin/session', { form: { key: stack().apiKey } });
    expect(signedIn.statusCode).toBe(303);
    const cookie = (signedIn.cookies?.[0] ?? '').split(';')[0] as string;
    const csrf = csrfOf((await call('GET', '/admin/invites', { cookie })).body);

    const created = await call('POST', '/admin/invites', {
      cookie,
      form: { csrf, type: 'account', domain: 'localhost', username: uniqueName('logged') },
    });
    expect(created.statusCode).toBe(201);
    const link = /id="issued-link" readonly value="([^"]+)"/.exec(created.body ?? '')?.[1] as string;
    const token = link.slice(link.lastIndexOf('/') + 1);
    expect(token.length).toBeGreaterThan(20);

    const key = await call('POST', '/admin/keys', {
      cookie,
      form: { csrf, name: uniqueName('logged-key-'), kind: 'api', domain: 'localhost' },
    });
    expect(key.statusCode).toBe(201);
    const secret = /id="new-key-secret" readonly value="([^"]+)"/.exec(key.body ?? '')?.[1] as string;
    expect(secret).toMatch(/^xik_/);

    // A form without its CSRF token, and one with a bad field: refused, and logged as such.
    expect((await call('POST', '/admin/invites', { cookie, form: { type: 'account' } })).statusCode).toBe(403);
    expect((await call('POST', '/admin/invites', { cookie, form: { csrf, type: 'account', maxUses: 'lots' } })).statusCode).toBe(400);

    const log = written.join('');
    expect(log.length).toBeGreaterThan(0);
    for (const secretText of [
      stack().apiKey,
      sha256(stack().apiKey),
      wrong,
      cookie.split('=')[1] as string,
      csrf,
      token,
      sha256(token),
      secret,
      sha256(secret),
    ]) {
      expect(log).not.toContain(secretText);
    }
  });
});
