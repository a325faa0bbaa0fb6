import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBAdminAudit } from '../../lib/adapters/dynamodb/DynamoDBAdminAudit.js';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { sha256 } from '../../lib/token.js';
import { DynamoDBInviteStore } from '../../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { DynamoDBLineageStore } from '../../lib/adapters/dynamodb/DynamoDBLineageStore.js';
import { DynamoDBRateLimiter } from '../../lib/adapters/dynamodb/DynamoDBRateLimiter.js';
import { loadConfig } from '../../lib/config.js';
import type { ConsoleDeps, ConsoleResult, SignedIn } from '../../lib/web/console/core.js';
import { lineagePage, lineageRoutes, REVOKE_HANDLE_SECONDS } from '../../lib/web/console/lineage.js';
import { csrfToken, seal, signSession, unseal, verifySession } from '../../lib/web/console/session.js';
import { launchChromium, newPage, screenshot } from '../support/browser.js';
import { addSession, consoleHttp, csrfOf, OTHER_SCRIPTS, sessionValue, waitForConsole } from '../support/console.js';
import { api, documentClientForStack, issue, stack, uniqueName } from '../support/stack.js';

/**
 * The console's lineage page (#21) in a real Chromium against the shared
 * stack: a three-generation tree made through the API (A, B invited by A, C
 * invited by B, on the stack's Prosody), walked by clicking; B's subtree
 * revoked after a dry run; C suspended and lifted; and the refusals (another
 * domain, a tampered confirm, no CSRF token).
 */

const SLOW = { timeout: 180_000 };
const PASSWORD = 'correct horse battery';

let browser: Browser;
const pages: Page[] = [];
/** Every HTML body this file saw: none may hold an invite id or token. */
const seen: string[] = [];
/** The ids and tokens of every invite made here. */
const secrets: string[] = [];

const base = () => stack().baseUrl;
const table = () => stack().env.INVITES_TABLE as string;

/** Sessions are signed here (support/console.ts sessionValue): the sign-in form is console.browser.test.ts's subject. */
const sessionFor = sessionValue;
const http = consoleHttp(seen);
/** `cookie`: a raw session value. */
const get = (path: string, cookie: string) => http.get(path, `console_session=${cookie}`);
const post = (path: string, form: Record<string, string>, cookie: string) => http.post(path, form, `console_session=${cookie}`);
const handleOf = (text: string, form: string) =>
  new RegExp(`<form method="post" action="/admin/lineage/revoke" class="${form}">.*?name="handle" value="([^"]+)"`).exec(
    text
  )?.[1] as string;

const remember = <T extends { id: string; token: string }>(invite: T): T => {
  secrets.push(invite.id, invite.token);
  return invite;
};

/** A new account on the stack's Prosody, made by redeeming an invite of the stack's admin key (naming `inviter`, if any). */
const account = async (prefix: string, inviter?: string) => {
  const username = uniqueName(prefix);
  const invite = remember(await issue(inviter ? { inviter } : {}));
  const res = await api('POST', `/invites/${invite.token}/redeem`, { body: { username, password: PASSWORD }, auth: false });
  expect(res.status, res.text).toBe(201);
  return `${username}@localhost`;
};

const tokenStatus = async (token: string) => {
  const res = await api('GET', `/invites/${token}`, { auth: false });
  return res.status === 200 ? 'valid' : (res.body?.error as string);
};

const lineageHref = (jid: string) => `/admin/lineage?${new URLSearchParams({ jid })}`;

/** Opens a page in Chromium with a session of the stack's admin key. */
const signedInPage = async (viewport: { width: number; height: number }) => {
  const page = await newPage(browser, { viewport });
  pages.push(page);
  await addSession(page, stack().apiKey);
  return page;
};

const keep = async (page: Page) => {
  seen.push(await page.content());
};

let a: string;
let b: string;
let c: string;
let ofA: { id: string; token: string };
let ofB: { id: string; token: string };
let ofC: { id: string; token: string };

beforeAll(async () => {
  browser = await launchChromium();
  await waitForConsole();
  a = await account('lina');
  b = await account('linb', a);
  c = await account('linc', b);
  ofA = remember(await issue({ inviter: a }));
  ofB = remember(await issue({ inviter: b }));
  ofC = remember(await issue({ inviter: c, maxUses: 2 }));
}, 240_000);

afterAll(async () => {
  await Promise.allSettled(pages.map((p) => p.context().close()));
  await browser?.close();
});

describe('console lineage page in Chromium', () => {
  it('walks A -> B -> C by clicking, revokes B’s subtree after a dry run, suspends and lifts C (phone)', SLOW, async () => {
    const page = await signedInPage({ width: 390, height: 844 });
    const response = await page.goto(`${base()}/admin/lineage`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
    await page.fill('#jid', a);
    await page.click('form.filters button[type=submit]');
    await page.waitForURL((url) => url.searchParams.get('jid') === a);

    // A: no inviting account; B below it, C below B, in nested lists.
    await expect(page.locator('[data-account] [data-status]').first().getAttribute('data-status')).resolves.toBe('active');
    await expect(page.locator('section[aria-labelledby=chain-title]').innerText()).resolves.toContain('No inviting account');
    await expect(page.locator(`ul.tree li[data-jid="${b}"] ul.tree li[data-jid="${c}"]`).count()).resolves.toBe(1);
    await expect(page.locator(OTHER_SCRIPTS).count()).resolves.toBe(0);
    await screenshot(page, 'console-lineage-tree-phone');
    await keep(page);

    await page.click(`ul.tree li[data-jid="${b}"] > a`);
    await page.waitForURL((url) => url.searchParams.get('jid') === b);
    await expect(page.locator('[data-account] h2').innerText()).resolves.toBe(b);
    await expect(page.locator('ol.chain a').allInnerTexts()).resolves.toEqual([a]);
    await expect(page.locator(`ul.tree li[data-jid="${c}"]`).count()).resolves.toBe(1);
    await keep(page);

    await page.click(`ul.tree li[data-jid="${c}"] > a`);
    await page.waitForURL((url) => url.searchParams.get('jid') === c);
    // The chain up to the root, root first; the account itself last.
    await expect(page.locator('ol.chain a').allInnerTexts()).resolves.toEqual([a, b]);
    await expect(page.locator('section[aria-labelledby=tree-title]').innerText()).resolves.toContain('has brought no one in');
    await expect(page.locator('dl.facts').innerText()).resolves.toMatch(/via api/);
    await screenshot(page, 'console-lineage-leaf-phone');
    await keep(page);

    // Back up to B through the chain, and revoke its subtree: a dry run first.
    await page.click(`ol.chain a[href="${lineageHref(b)}"]`);
    await page.waitForURL((url) => url.searchParams.get('jid') === b);
    await expect(page.locator('form.revoke input[name=subtree]').isChecked()).resolves.toBe(true);
    await page.click('form.revoke button[type=submit]');
    await page.locator('[data-dry-run=true]').waitFor();
    await expect(page.locator('[data-dry-run=true] [data-count]').getAttribute('data-count')).resolves.toBe('2');
    await expect(page.locator('ul.whose li').allInnerTexts()).resolves.toEqual([`${b}: 1 live invite`, `${c}: 1 live invite`]);
    await screenshot(page, 'console-lineage-dry-run-phone');
    await keep(page);
    // Nothing changed yet.
    for (const invite of [ofA, ofB, ofC]) expect(await tokenStatus(invite.token)).toBe('valid');

    await page.click('form.confirm button[type=submit]');
    await page.locator('[data-dry-run=false]').waitFor();
    await expect(page.locator('[data-dry-run=false] [data-count]').getAttribute('data-count')).resolves.toBe('2');
    await screenshot(page, 'console-lineage-revoked-phone');
    await keep(page);
    expect(await tokenStatus(ofB.token)).toBe('token-revoked');
    expect(await tokenStatus(ofC.token)).toBe('token-revoked');
    // A is above B: its invite is not in the subtree.
    expect(await tokenStatus(ofA.token)).toBe('valid');

    // Suspend C: the page says so, and the API refuses an invite naming C.
    await page.goto(`${base()}${lineageHref(c)}`);
    await page.click('form[action="/admin/lineage/suspend"] button');
    await page.waitForURL(/suspended=0/);
    await expect(page.locator('[data-account] [data-status]').first().getAttribute('data-status')).resolves.toBe('suspended');
    await expect(page.locator('p.success').innerText()).resolves.toContain('Suspended');
    await screenshot(page, 'console-lineage-suspended-phone');
    await keep(page);
    const refused = await api('POST', '/invites', { body: { inviter: c } });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('inviter-suspended');

    await page.click('form[action="/admin/lineage/unsuspend"] button');
    await page.waitForURL(/unsuspended=1/);
    await expect(page.locator('[data-account] [data-status]').first().getAttribute('data-status')).resolves.toBe('active');
    await keep(page);
    const allowed = await api('POST', '/invites', { body: { inviter: c } });
    expect(allowed.status).toBe(201);
    remember(allowed.body);

    // Each action is in the audit trail, with the acting key.
    const audit = new DynamoDBAdminAudit({ tableName: table(), client: documentClientForStack() });
    const entries = (await audit.list('localhost', { limit: 100 })).items.filter((e) => e.subject === b || e.subject === c);
    expect(entries.map((e) => `${e.action} ${e.subject}`).sort()).toEqual(
      [`lineage.revoked ${b}`, `account.suspended ${c}`, `account.unsuspended ${c}`].sort()
    );
    expect(entries.find((e) => e.action === 'lineage.revoked')).toMatchObject({
      via: 'console',
      detail: { subtree: true, revoked: 2, complete: true },
    });
    expect(entries.every((e) => e.actor.startsWith('api-key:'))).toBe(true);
  });

  it('shows the tree and a dry run at desktop width', SLOW, async () => {
    const page = await signedInPage({ width: 1280, height: 900 });
    await page.goto(`${base()}${lineageHref(a)}`);
    await expect(page.locator(`ul.tree li[data-jid="${b}"] ul.tree li[data-jid="${c}"]`).count()).resolves.toBe(1);
    await screenshot(page, 'console-lineage-tree-desktop');
    await keep(page);
    await page.click('form.revoke button[type=submit]');
    await page.locator('[data-dry-run=true]').waitFor();
    // Only A's own invite is left live in its subtree (C's new one aside): the dry run says whose.
    await expect(page.locator(`ul.whose li[data-jid="${a}"]`).innerText()).resolves.toBe(`${a}: 1 live invite`);
    await screenshot(page, 'console-lineage-dry-run-desktop');
    await keep(page);
    expect(await tokenStatus(ofA.token)).toBe('valid');
  });
});

/**
 * The same routes called in-process against the stack's DynamoDB, with a
 * small page and a small bound per request: what takes hundreds of accounts
 * or invites on a real tree (a "more" link, a walk cut short).
 */
describe('console lineage page, bounded (in-process)', () => {
  const skew = { seconds: 0 };
  const clock = { now: () => systemClock.now() + skew.seconds };
  const inProcess = () => {
    const env = stack().env;
    const config = loadConfig(env);
    const client = documentClientForStack();
    const store = new DynamoDBInviteStore({ tableName: table(), client });
    const lineage = new DynamoDBLineageStore({ tableName: table(), client });
    const deps: ConsoleDeps = {
      keys: new DynamoDBApiKeyStore({ tableName: table(), client }),
      clock,
      limiter: new DynamoDBRateLimiter({ tableName: table(), client }),
      config,
      sessionKey: async () => env.CONSOLE_SESSION_KEY as string,
      issue: { store, clock, config, lineage },
      // One invite per request: every live invite is a step of the walk.
      containment: { store, lineage, clock, limits: { invites: 1, queries: 40 } },
      audit: new DynamoDBAdminAudit({ tableName: table(), client }),
    };
    const key = env.CONSOLE_SESSION_KEY as string;
    const session = verifySession(key, sessionFor(stack().apiKey), systemClock.now());
    if (!session) throw new Error('no session');
    const admin: SignedIn = {
      session,
      actor: { source: 'api-key:lineage-ui-test', keyName: 'lineage-ui-test', domains: ['localhost'], admin: true },
      csrf: csrfToken(key, session),
      seal: (text) => seal(key, session, text),
      open: (handle) => unseal(key, session, handle),
    };
    const call = async (method: 'GET' | 'POST', path: string, input: Record<string, string>): Promise<ConsoleResult> => {
      const route = lineageRoutes.find((r) => r.method === method && r.path === path);
      if (!route) throw new Error(`no route ${method} ${path}`);
      const result = await route.handle(deps, {
        method,
        path,
        query: method === 'GET' ? input : {},
        form: method === 'POST' ? { csrf: admin.csrf, ...input } : {},
        admin,
      });
      if (result.html) seen.push(result.html);
      return result;
    };
    return { deps, admin, call };
  };

  it('cuts a long level with a "more" link whose sealed cursor shows the next invitees', SLOW, async () => {
    const { deps, admin, call } = inProcess();
    const d = await account('lind', a);
    const e = await account('line', a);
    const first = await lineagePage(deps, admin, { jid: a }, {}, 2);
    expect(first.status).toBe(200);
    const html = first.html as string;
    expect(html).toContain(`data-jid="${b}"`);
    expect(html).toContain(`data-jid="${d}"`);
    expect(html).not.toContain(`data-jid="${e}"`);
    const href = /<li class="more"><a href="([^"]+)">/.exec(html)?.[1]?.replaceAll('&amp;', '&') as string;
    const query = Object.fromEntries(new URL(href, base()).searchParams);
    expect(query.jid).toBe(a);
    expect(query.cursor).toMatch(/^[A-Za-z0-9_-]{38,}$/);
    const more = await lineagePage(deps, admin, { jid: a, cursor: query.cursor }, {}, 2);
    expect(more.html).toContain(`data-jid="${e}"`);
    expect(more.html).not.toContain(`data-jid="${b}"`);
    expect(more.html).not.toContain('class="more"');
    // An altered cursor opens to nothing: refused, as the API refuses a cursor it did not return.
    expect(
      (await call('GET', '/admin/lineage', { jid: a, cursor: (query.cursor as string).replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A')) }))
        .status
    ).toBe('cursor-invalid');
  });

  it('previews and revokes a walk cut short a part at a time, with "continue" handles; a stale handle is refused', SLOW, async () => {
    const { call } = inProcess();
    const top = await account('linr');
    const child = await account('lins', top);
    const live = [await issue({ inviter: top }), await issue({ inviter: child }), await issue({ inviter: child })].map(remember);

    // The dry run shows one invite per request, and "continue" previews the next.
    const dry = await call('POST', '/admin/lineage/revoke', { jid: top, subtree: '1' });
    expect(dry.html).toContain('data-count="1"');
    const previewed = [dry.html as string];
    for (let html = dry.html as string; html.includes('class="continue"'); ) {
      const next = await call('POST', '/admin/lineage/revoke', { handle: handleOf(html, 'continue') });
      expect(next.status).toBe(200);
      html = next.html as string;
      previewed.push(html);
      expect(previewed.length).toBeLessThan(10);
    }
    expect(previewed.join('').match(/data-count="1"/g)?.length).toBe(3);
    for (const invite of live) expect(await tokenStatus(invite.token)).toBe('valid');

    // A handle older than REVOKE_HANDLE_SECONDS is refused, revoking nothing.
    skew.seconds = REVOKE_HANDLE_SECONDS + 1;
    expect((await call('POST', '/admin/lineage/revoke', { handle: handleOf(dry.html as string, 'confirm') })).status).toBe(
      'invalid-request'
    );
    skew.seconds = 0;
    for (const invite of live) expect(await tokenStatus(invite.token)).toBe('valid');

    // Confirm revokes a part; "Continue revoking" the rest.
    let done = await call('POST', '/admin/lineage/revoke', { handle: handleOf(dry.html as string, 'confirm') });
    let parts = 1;
    while ((done.html as string).includes('Continue revoking')) {
      expect(done.html).toContain('data-dry-run="false"');
      done = await call('POST', '/admin/lineage/revoke', { handle: handleOf(done.html as string, 'confirm') });
      parts++;
      expect(parts).toBeLessThan(10);
    }
    expect(parts).toBeGreaterThanOrEqual(3);
    for (const invite of live) expect(await tokenStatus(invite.token)).toBe('token-revoked');
    const audit = new DynamoDBAdminAudit({ tableName: table(), client: documentClientForStack() });
    const entries = (await audit.list('localhost', { limit: 100 })).items.filter(
      (x) => x.subject === top && x.action === 'lineage.revoked'
    );
    expect(entries.length).toBe(parts);
    expect(entries.filter((x) => x.detail?.complete === true).length).toBe(1);
  });
});

describe('console lineage refusals', () => {
  it('refuses an account of a domain the key may not act on, as the API does', SLOW, async () => {
    const keys = new DynamoDBApiKeyStore({ tableName: table(), client: documentClientForStack() });
    const scoped = await createApiKey({ store: keys, clock: systemClock }, { name: uniqueName('lineage-ui-'), domains: ['localhost'] });
    secrets.push(scoped.secret, scoped.apiKey.id);
    const cookie = sessionFor(scoped.secret);
    const foreign = `${uniqueName('x')}@other.example`;

    const own = await get(lineageHref(a), cookie);
    expect(own.res.status).toBe(200);
    const shown = await get(lineageHref(foreign), cookie);
    expect(shown.res.status).toBe(403);
    expect(shown.text).toContain('data-error="forbidden"');
    expect((await api('GET', `/lineage/${encodeURIComponent(foreign)}`, { auth: scoped.secret })).status).toBe(403);
    const csrf = csrfOf(own.text);
    for (const path of ['/admin/lineage/suspend', '/admin/lineage/unsuspend', '/admin/lineage/revoke']) {
      const res = await post(path, { csrf, jid: foreign, subtree: '1' }, cookie);
      expect(res.res.status, path).toBe(403);
      expect(res.text).toContain('data-error="forbidden"');
    }
    // A bad JID and a bad "more" cursor: 400.
    expect((await get(lineageHref('not a jid'), cookie)).res.status).toBe(400);
    expect((await get(`${lineageHref(a)}&cursor=forged`, cookie)).res.status).toBe(400);
  });

  it('refuses a confirm whose handle was tampered with or is another session’s, and revokes nothing', SLOW, async () => {
    const cookie = sessionFor(stack().apiKey);
    const other = signSession(stack().env.CONSOLE_SESSION_KEY as string, sha256(stack().apiKey), Math.floor(Date.now() / 1000) - 60);
    const page = await get(lineageHref(a), cookie);
    const dry = await post('/admin/lineage/revoke', { csrf: csrfOf(page.text), jid: a }, cookie);
    expect(dry.res.status).toBe(200);
    expect(dry.text).toContain('data-dry-run="true"');
    const handle = handleOf(dry.text, 'confirm');
    expect(handle).toMatch(/^[A-Za-z0-9_-]{38,}$/);
    const flipped = `${handle.slice(0, 30)}${handle[30] === 'A' ? 'B' : 'A'}${handle.slice(31)}`;
    for (const bad of [flipped, handle.slice(0, -4), 'x'.repeat(60)]) {
      const res = await post('/admin/lineage/revoke', { csrf: csrfOf(page.text), handle: bad }, cookie);
      expect(res.res.status).toBe(400);
      expect(res.text).toContain('data-error="invalid-request"');
    }
    // The genuine handle in another session (another cookie, its own CSRF token) is refused too.
    const otherPage = await get(lineageHref(a), other);
    const foreign = await post('/admin/lineage/revoke', { csrf: csrfOf(otherPage.text), handle }, other);
    expect(foreign.res.status).toBe(400);
    expect(await tokenStatus(ofA.token)).toBe('valid');
  });

  it('refuses the forms without the session’s CSRF token (403), changing nothing', SLOW, async () => {
    const cookie = sessionFor(stack().apiKey);
    const page = await get(lineageHref(a), cookie);
    const dry = await post('/admin/lineage/revoke', { csrf: csrfOf(page.text), jid: a }, cookie);
    const handle = handleOf(dry.text, 'confirm');
    for (const [path, form] of [
      ['/admin/lineage/suspend', { jid: a }],
      ['/admin/lineage/revoke', { handle }],
      ['/admin/lineage/revoke', { handle, csrf: 'x'.repeat(43) }],
    ] as const) {
      const res = await post(path, form, cookie);
      expect(res.res.status, path).toBe(403);
      expect(res.text).toContain('data-error="forbidden"');
    }
    expect((await api('GET', `/lineage/${encodeURIComponent(a)}`)).body.status).toBe('active');
    expect(await tokenStatus(ofA.token)).toBe('valid');
    // With the token the same confirm works: the refusals were the token's.
    const done = await post('/admin/lineage/revoke', { csrf: csrfOf(page.text), handle }, cookie);
    expect(done.res.status).toBe(200);
    expect(done.text).toContain('data-dry-run="false"');
    expect(await tokenStatus(ofA.token)).toBe('token-revoked');
  });

  it('shows no invite id or token, nor a key, in any page', () => {
    expect(seen.length).toBeGreaterThan(15);
    expect(secrets.length).toBeGreaterThan(12);
    for (const text of seen) {
      expect(text).not.toContain(stack().apiKey);
      expect(text).not.toContain(sha256(stack().apiKey));
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
  });
});
