import { beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_ROUTES } from '../../lib/web/console/routes.js';
import { sessionCookie } from '../support/console.js';
import { httpEvent, lambdaContext } from '../support/lambda.js';
import { stack, useStackEnv } from '../support/stack.js';

/**
 * Bad input on every console route (lib/web/console/routes.ts) gets a page
 * with a 4xx, never a 500: junk, oversized and wrongly typed query values on
 * the pages, junk forms (with a valid CSRF token) on the actions. The
 * console's function in this process against the shared stack's table.
 */
type Result = { statusCode: number; body?: string };
type Handler = (event: unknown, context: unknown) => Promise<Result>;

let handler: Handler;
let cookie: string;
let csrf: string;

const JUNK = ['', ' ', 'x', '-1', '1e9', '999999999999', '%00', '\u0000', 'a'.repeat(5000), '../../etc', '<script>', 'AAAA', '@', 'a@b@c'];

const call = (method: 'GET' | 'POST', path: string, values: Record<string, string>) =>
  handler(
    httpEvent({
      method,
      path,
      sourceIp: '203.0.113.9',
      query: method === 'GET' ? values : undefined,
      headers: { cookie, ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      raw: method === 'POST' ? new URLSearchParams({ csrf, ...values }).toString() : undefined,
    }),
    lambdaContext()
  );

/** The field names a route's page or form reads, from its GET page and the forms that post to it. */
const FIELDS = [
  'domain',
  'status',
  'type',
  'inviter',
  'source',
  'cursor',
  'invite',
  'jid',
  'weeks',
  'key',
  'handle',
  'subtree',
  'name',
  'kind',
  'maxLiveInvites',
  'inviters',
  'allowReset',
  'revokeInvites',
  'username',
  'maxUses',
  'expiresInDays',
  'groups',
  'note',
  'back',
  'revoked',
  'invites',
];

beforeAll(async () => {
  useStackEnv();
  handler = (await import('../../functions/adminConsole.js')).handler as unknown as Handler;
  cookie = sessionCookie(stack().apiKey);
  const page = await call('GET', '/admin/invites', {});
  csrf = /name="csrf" value="([^"]+)"/.exec(page.body ?? '')?.[1] as string;
  expect(csrf).toBeDefined();
}, 120_000);

describe('console routes answer bad input with a 4xx page', () => {
  for (const route of CONSOLE_ROUTES) {
    it(`${route.method} ${route.path}`, async () => {
      const statuses = new Set<number>();
      for (const junk of JUNK) {
        // Each field alone, then every field at once.
        for (const values of [...FIELDS.map((f) => ({ [f]: junk })), Object.fromEntries(FIELDS.map((f) => [f, junk]))]) {
          const res = await call(route.method, route.path, values);
          expect(res.statusCode, `${JSON.stringify(values).slice(0, 120)} -> ${res.body?.slice(0, 300)}`).toBeLessThan(500);
          statuses.add(res.statusCode);
        }
      }
      // An action refuses some of it (a page may read no parameter at all: the keys page reads only its notices).
      if (route.method === 'POST')
        expect(
          [...statuses].some((s) => s >= 400),
          [...statuses].join(',')
        ).toBe(true);
    }, 120_000);
  }
});
