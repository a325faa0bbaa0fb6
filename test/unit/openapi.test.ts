import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ErrorCodes } from '../../lib/errors.js';
import { STATUS } from '../../functions/http/route.js';
import { CONSOLE_ROUTES } from '../../lib/web/console/routes.js';

const root = new URL('../../', import.meta.url);
const openapi = parse(readFileSync(new URL('openapi.yaml', root), 'utf8'));
const sls = parse(readFileSync(new URL('serverless.yml', root), 'utf8'), {
  customTags: [
    { tag: '!Ref', resolve: (v: string) => v },
    { tag: '!GetAtt', resolve: (v: string) => v },
    { tag: '!Sub', resolve: (v: string) => v },
    { tag: '!Join', collection: 'seq', resolve: (v: unknown) => v },
  ],
});

const routesInServerless = (): string[] =>
  Object.values(sls.functions as Record<string, { events?: { httpApi?: { method: string; path: string } }[] }>)
    .flatMap((f) => f.events ?? [])
    .filter((e) => e.httpApi)
    .map((e) => `${e.httpApi!.method.toUpperCase()} ${e.httpApi!.path}`)
    .sort();

const operationsInOpenApi = (): string[] =>
  Object.entries(openapi.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((k) => ['get', 'head', 'post', 'put', 'patch', 'delete'].includes(k))
        .map((m) => `${m.toUpperCase()} ${path}`)
    )
    .sort();

/** The console's pages below /admin are one catch-all route in serverless.yml (lib/web/console/routes.ts routes them). */
const CONSOLE_PAGE = /^(GET|POST) \/admin\/.+$/;
const routesInOpenApi = (): string[] =>
  [...new Set(operationsInOpenApi().map((op) => (CONSOLE_PAGE.test(op) ? `${op.split(' ')[0]} /admin/{proxy+}` : op)))].sort();

describe('openapi.yaml', () => {
  it('is OpenAPI 3.1', () => {
    expect(openapi.openapi).toBe('3.1.0');
  });

  it('documents exactly the routes serverless.yml deploys', () => {
    expect(routesInOpenApi()).toEqual(routesInServerless());
  });

  it('documents every page of the console, and no other /admin path', () => {
    const documented = operationsInOpenApi().filter((op) => CONSOLE_PAGE.test(op));
    const routed = [
      ...CONSOLE_ROUTES.map((r) => `${r.method} ${r.path}`),
      'POST /admin/session',
      'POST /admin/signout',
      // Served by the handler before the session check (lib/web/console/script.ts).
      'GET /admin/console.js',
    ].sort();
    expect(documented).toEqual(routed);
  });

  it('lists every stable error code the API can answer', () => {
    expect([...openapi.components.schemas.Error.properties.error.enum].sort()).toEqual([...ErrorCodes].sort());
  });

  it('documents, for each error status an operation can answer, a response', () => {
    const documented = new Set(
      Object.values(openapi.paths as Record<string, Record<string, { responses?: Record<string, unknown> }>>)
        .flatMap((ops) => Object.values(ops))
        .flatMap((op) => Object.keys(op.responses ?? {}))
    );
    const statuses = new Set(Object.values(STATUS).filter((s) => s < 500 || s === 503));
    for (const status of statuses) expect(documented, `status ${status}`).toContain(String(status));
  });

  it('resolves every $ref', () => {
    const refs = JSON.stringify(openapi).match(/"\$ref":"#\/[^"]+"/g) ?? [];
    for (const ref of refs) {
      const path = ref.slice(10, -1).split('/');
      let node: unknown = openapi;
      for (const part of path) node = (node as Record<string, unknown>)[part];
      expect(node, ref).toBeDefined();
    }
  });

  it('puts the /xmpp/* routes, and only them, behind the xmpp-server key', () => {
    const ops = Object.entries(openapi.paths as Record<string, Record<string, { security?: Record<string, unknown>[] }>>).flatMap(
      ([path, methods]) =>
        Object.values(methods)
          .filter((op) => typeof op === 'object' && op !== null && 'responses' in op)
          .map((op) => ({ path, op }))
    );
    const xmpp = ops.filter(({ path }) => path.startsWith('/xmpp/'));
    expect(xmpp.map(({ path }) => path).sort()).toEqual([
      '/xmpp/account-deleted',
      '/xmpp/invites',
      '/xmpp/preauth',
      '/xmpp/register',
      '/xmpp/subscribe',
    ]);
    for (const { op } of xmpp) expect(op.security).toEqual([{ xmppServer: [] }]);
    for (const { path, op } of ops.filter(({ path }) => !path.startsWith('/xmpp/'))) {
      expect(JSON.stringify(op.security ?? []), path).not.toContain('xmppServer');
    }
    expect(openapi.components.securitySchemes.xmppServer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });
});
