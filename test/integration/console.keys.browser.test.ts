import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, keySource } from '../../lib/apiKeys/apiKeys.js';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { sha256 } from '../../lib/token.js';
import { seal, verifySession } from '../../lib/web/console/session.js';
import { launchChromium, newPage, screenshot } from '../support/browser.js';
import { addSession, consoleHttp, csrfOf, OTHER_SCRIPTS, sessionCookie, VIEWPORTS, waitForConsole } from '../support/console.js';
import { api, documentClientForStack, stack, uniqueName } from '../support/stack.js';

/**
 * The console's keys and activity pages (#21) in Chromium against the shared
 * stack: create a key (its secret shown once), use it on the API, revoke it
 * without and with its invites, read the audit trail; and the refusals (a
 * scoped admin and a `*` key, another domain, CSRF, a tampered handle, the
 * session's own key).
 *
 * Sessions are signed here with the stack's console session key rather than
 * through the sign-in form: sign-ins are limited per client address, and
 * console.browser.test.ts spends that budget (all test files share
 * 127.0.0.1). The sign-in itself is that file's subject.
 */

const SLOW = { timeout: 180_000 };
const base = () => stack().baseUrl;
const sessionKey = () => stack().env.CONSOLE_SESSION_KEY as string;
const keys = () => new DynamoDBApiKeyStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });

let browser: Browser;
const pages: Page[] = [];
/** Every console page this file saw: none may hold a key id in full, nor a secret except the create answer. */
const seen: string[] = [];
/** Ids (and secrets) of every key this file made. */
const keyIds: string[] = [];
const secretsShown = new Set<string>();

/** A `Cookie` value for a new session of this key (what POST /admin/session sets). */

const adminKey = async (domains: string[], name = uniqueName('keys-admin-')) => {
  const made = await createApiKey({ store: keys(), clock: systemClock }, { name, domains });
  keyIds.push(made.apiKey.id);
  return { ...made, name, cookie: sessionCookie(made.secret) };
};

const { get, post } = consoleHttp(seen);
/** The sealed handle in the revoke form of the row of this key name. */
const handleOf = (text: string, name: string): string | undefined => {
  const row = text.split('<tr').find((r) => r.includes(`"Name">${name}`));
  return row ? /name="key" value="([^"]+)"/.exec(row)?.[1] : undefined;
};
const unescapeHtml = (s: string) => s.replace(/&amp;/g, '&');

/** The activity rows of a domain (up to `pages` pages, newest first) as text, read with this session. */
const activity = async (domain: string, cookie: string, pages = 6): Promise<string[]> => {
  const rows: string[] = [];
  let path: string | undefined = `/admin/activity?domain=${encodeURIComponent(domain)}`;
  for (let i = 0; i < pages && path; i++) {
    const { res, text } = await get(path, cookie);
    expect(res.status).toBe(200);
    rows.push(...text.split('<tr data-action=').slice(1));
    const next = /<a href="(\/admin\/activity\?[^"]+)">Older<\/a>/.exec(text)?.[1];
    path = next ? unescapeHtml(next) : undefined;
  }
  return rows;
};

const tokenOf = (landingUrl: string) => landingUrl.slice(landingUrl.lastIndexOf('/') + 1);
const inviteStatus = async (token: string) => {
  const res = await api('GET', `/invites/${token}`, { auth: false });
  return res.status === 200 ? 'valid' : res.body.error;
};

beforeAll(async () => {
  browser = await launchChromium();
  await waitForConsole();
}, 240_000);

afterAll(async () => {
  await Promise.allSettled(pages.map((p) => p.context().close()));
  await browser?.close();
});

describe('console keys page in Chromium', () => {
  for (const [width, viewport] of VIEWPORTS) {
    it(
      `creates a key (secret shown once) that works on the API, revokes it without and with its invites, and the activity names the acting key (${width})`,
      SLOW,
      async () => {
        const admin = await adminKey(['*']);
        const page = await newPage(browser, { viewport });
        pages.push(page);
        await addSession(page, admin.secret);

        const listed = await page.goto(`${base()}/admin/keys`);
        expect(listed?.status()).toBe(200);
        expect(listed?.headers()['cache-control']).toBe('no-store');
        await expect(page.locator('tr', { hasText: admin.name }).locator('.tag', { hasText: 'this session' }).count()).resolves.toBe(1);
        await expect(page.locator('tr', { hasText: admin.name }).textContent()).resolves.toContain('revoking it ends your session');

        // Create: the secret is on this answer only.
        const first = uniqueName('ui-key-');
        await page.fill('#key-name', first);
        await page.check('input[name=domain][value=localhost]');
        await page.fill('#key-quota', '5');
        await page.fill('#key-inviters', 'any');
        await screenshot(page, `console-keys-create-${width}`);
        const [created] = await Promise.all([
          page.waitForResponse((r) => r.url() === `${base()}/admin/keys` && r.request().method() === 'POST'),
          page.click('form[action="/admin/keys"] button[type=submit]'),
        ]);
        expect(created.status()).toBe(201);
        expect(created.headers()['cache-control']).toBe('no-store');
        await page.locator('#created').waitFor();
        const secret = await page.locator('#new-key-secret').inputValue();
        expect(secret).toMatch(/^xik_[A-Za-z0-9_-]{43}$/);
        await expect(page.locator('#new-key-secret').getAttribute('readonly')).resolves.not.toBeNull();
        await expect(page.locator('#created').textContent()).resolves.toContain('will not be shown again');
        // No inline script: the one console script, by its hash; its copy button copies the new key.
        await expect(page.locator(OTHER_SCRIPTS).count()).resolves.toBe(0);
        await expect(page.locator('#copy-key').isVisible()).resolves.toBe(true);
        keyIds.push(sha256(secret));
        secretsShown.add(await page.content());
        await screenshot(page, `console-keys-created-${width}`);

        // A reload of the list does not hold it; the row does, by name and source.
        await page.goto(`${base()}/admin/keys`);
        const reloaded = await page.content();
        seen.push(reloaded);
        expect(reloaded).not.toContain(secret);
        const row = page.locator('tr', { hasText: first });
        await expect(row.getAttribute('data-source')).resolves.toBe(`api-key:${sha256(secret).slice(0, 12)}`);
        await expect(row.textContent()).resolves.toContain('localhost');

        // The secret works on the HTTP API.
        const issued = await api('POST', '/invites', { body: { domain: 'localhost' }, auth: secret });
        expect(issued.status).toBe(201);
        expect(issued.body.source).toBe(`api-key:${sha256(secret).slice(0, 12)}`);

        // Revoke without its invites: the key is refused, its invite stays valid.
        await row.locator('button', { hasText: 'Revoke' }).click();
        await page.waitForURL(/\/admin\/keys\?revoked=1$/);
        seen.push(await page.content());
        await expect(page.locator('tr', { hasText: first }).getAttribute('data-status')).resolves.toBe('revoked');
        expect((await api('POST', '/invites', { body: { domain: 'localhost' }, auth: secret })).status).toBe(401);
        expect(await inviteStatus(tokenOf(issued.body.landingUrl))).toBe('valid');

        // Another key, an invite from it, revoked with its invites.
        const second = uniqueName('ui-key-');
        await page.fill('#key-name', second);
        await page.check('input[name=domain][value=localhost]');
        await page.click('form[action="/admin/keys"] button[type=submit]');
        await page.locator('#created').waitFor();
        const secret2 = await page.locator('#new-key-secret').inputValue();
        keyIds.push(sha256(secret2));
        secretsShown.add(await page.content());
        const issued2 = await api('POST', '/invites', { body: { domain: 'localhost' }, auth: secret2 });
        expect(issued2.status).toBe(201);
        const row2 = page.locator('tr', { hasText: second });
        await row2.locator('input[name=revokeInvites]').check();
        await row2.locator('button', { hasText: 'Revoke' }).click();
        await page.waitForURL(/\/admin\/keys\?revoked=1&invites=1$/);
        await expect(page.locator('[role=status]').textContent()).resolves.toContain('with 1 live invite(s)');
        seen.push(await page.content());
        await screenshot(page, `console-keys-revoked-${width}`);
        expect(await inviteStatus(tokenOf(issued2.body.landingUrl))).toBe('token-revoked');
        expect((await api('POST', '/invites', { body: { domain: 'localhost' }, auth: secret2 })).status).toBe(401);

        // The audit trail of localhost has the three actions, with the acting key's name and source.
        const rows = await activity('localhost', admin.cookie);
        const ofKey = (name: string, action: string) => rows.filter((r) => r.startsWith(`"${action}"`) && r.includes(`${name} (api-key:`));
        const adminSource = keySource(admin.apiKey);
        for (const [name, action] of [
          [first, 'key.created'],
          [first, 'key.revoked'],
          [second, 'key.created'],
          [second, 'key.revoked'],
        ] as const) {
          const found = ofKey(name, action);
          expect(found, `${action} ${name}`).toHaveLength(1);
          expect(found[0]).toContain(admin.name);
          expect(found[0]).toContain(adminSource);
          expect(found[0]).toContain('>console</td>');
        }
        expect(ofKey(second, 'key.revoked')[0]).toContain('revokedInvites: 1');
        await page.goto(`${base()}/admin/activity?domain=localhost`);
        seen.push(await page.content());
        await screenshot(page, `console-activity-${width}`);
      }
    );
  }
});

describe('console keys page refusals', () => {
  it(
    'a scoped admin sees no `*` key nor another domain, and cannot revoke a `*` key, nor create one for another domain or with more grants',
    SLOW,
    async () => {
      const all = await adminKey(['*']);
      const scoped = await adminKey(['localhost']);
      const other = await adminKey(['other.example']);

      const page = await get('/admin/keys', scoped.cookie);
      expect(page.res.status).toBe(200);
      expect(page.text).toContain(scoped.name);
      for (const hidden of [all, other]) {
        expect(page.text).not.toContain(hidden.name);
        expect(page.text).not.toContain(keySource(hidden.apiKey));
      }
      expect(page.text).not.toContain('value="*"');
      expect(page.text).not.toContain('value="other.example"');
      expect(page.text).not.toContain('name="allowReset"');

      // A handle this very session could open, naming the `*` key: the use case refuses it.
      const session = verifySession(sessionKey(), scoped.cookie.slice('console_session='.length), Math.floor(Date.now() / 1000));
      const forged = seal(sessionKey(), session as NonNullable<typeof session>, all.apiKey.id);
      const csrf = csrfOf(page.text);
      const refused = await post('/admin/keys/revoke', { csrf, key: forged, revokeInvites: '1' }, scoped.cookie);
      expect(refused.res.status).toBe(403);
      expect(refused.text).toContain('data-error="forbidden"');
      // The `*` session's own handle for it is nothing in another session.
      const allPage = await get('/admin/keys', all.cookie);
      const foreign = await post('/admin/keys/revoke', { csrf, key: handleOf(allPage.text, all.name) as string }, scoped.cookie);
      expect(foreign.res.status).toBe(404);
      expect(foreign.text).toContain('data-error="key-not-found"');
      expect((await keys().get(all.apiKey.id))?.revokedAt).toBeUndefined();
      expect((await api('POST', '/invites', { body: {}, auth: all.secret })).status).toBe(201);

      const before = (await keys().list()).length;
      const names: string[] = [];
      const forms: Record<string, string | string[]>[] = [
        { domain: 'other.example' },
        { domain: ['localhost', 'other.example'] },
        { domain: '*' },
        { domain: 'localhost', allowReset: '1' },
      ];
      for (const form of forms) {
        const name = uniqueName('refused-');
        names.push(name);
        const res = await post('/admin/keys', { csrf, name, ...form }, scoped.cookie);
        expect(res.res.status, JSON.stringify(form)).toBe(403);
        expect(res.text).toContain('data-error="create"');
        expect(res.text).not.toContain('id="new-key-secret"');
      }
      const after = await keys().list();
      expect(after.filter((k) => names.includes(k.name))).toEqual([]);
      expect(after.length).toBeGreaterThanOrEqual(before);
      // The same form for its own domain works: the refusals were the domain and the grant.
      const ok = await post('/admin/keys', { csrf, name: uniqueName('scoped-made-'), domain: 'localhost' }, scoped.cookie);
      expect(ok.res.status).toBe(201);
      const made = /id="new-key-secret" readonly value="([^"]+)"/.exec(ok.text)?.[1] as string;
      keyIds.push(sha256(made));
      secretsShown.add(ok.text);

      // Its activity: its domains only.
      expect((await get('/admin/activity?domain=*', scoped.cookie)).res.status).toBe(403);
      expect((await get('/admin/activity?domain=other.example', scoped.cookie)).res.status).toBe(403);
      expect((await get('/admin/activity?domain=localhost&cursor=not-a-handle', scoped.cookie)).res.status).toBe(400);
      const own = await get('/admin/activity', scoped.cookie);
      expect(own.res.status).toBe(200);
      expect(own.text).not.toContain('value="*"');
    }
  );

  it('refuses a form without the CSRF token (403) and a tampered handle (404), changing nothing', SLOW, async () => {
    const admin = await adminKey(['localhost']);
    const target = await adminKey(['localhost']);
    const page = await get('/admin/keys', admin.cookie);
    const handle = handleOf(page.text, target.name) as string;
    expect(handle).toMatch(/^[A-Za-z0-9_-]{38,}$/);

    const name = uniqueName('no-csrf-');
    const noCsrf = await post('/admin/keys', { name, domain: 'localhost' }, admin.cookie);
    expect(noCsrf.res.status).toBe(403);
    const revokeNoCsrf = await post('/admin/keys/revoke', { key: handle }, admin.cookie);
    expect(revokeNoCsrf.res.status).toBe(403);
    const tampered = `${handle.slice(0, 20)}${handle[20] === 'A' ? 'B' : 'A'}${handle.slice(21)}`;
    const bad = await post('/admin/keys/revoke', { csrf: csrfOf(page.text), key: tampered }, admin.cookie);
    expect(bad.res.status).toBe(404);
    expect((await post('/admin/keys/revoke', { csrf: csrfOf(page.text) }, admin.cookie)).res.status).toBe(404);

    expect((await keys().list()).some((k) => k.name === name)).toBe(false);
    expect((await keys().get(target.apiKey.id))?.revokedAt).toBeUndefined();
    // The real handle with the token works: the refusals were the token and the tampering.
    const done = await post('/admin/keys/revoke', { csrf: csrfOf(page.text), key: handle }, admin.cookie);
    expect(done.res.status).toBe(303);
    expect((await keys().get(target.apiKey.id))?.revokedAt).toBeDefined();
  });

  it('says that revoking the session’s own key ends the session, and ends it', SLOW, async () => {
    const admin = await adminKey(['localhost']);
    const page = await get('/admin/keys', admin.cookie);
    expect(page.text).toContain('You are signed in with this key: revoking it ends your session.');
    const res = await post('/admin/keys/revoke', { csrf: csrfOf(page.text), key: handleOf(page.text, admin.name) as string }, admin.cookie);
    expect(res.res.status).toBe(200);
    expect(res.text).toContain('your session has ended');
    expect(res.res.headers.getSetCookie().some((c) => c.startsWith('console_session=;') && c.includes('Max-Age=0'))).toBe(true);
    const next = await get('/admin/keys', admin.cookie);
    expect(next.res.status).toBe(303);
    expect(next.res.headers.get('location')).toBe('/admin');
    // Its own revocation is in the trail, by itself.
    const revoked = await activity('localhost', (await adminKey(['localhost'])).cookie);
    expect(
      revoked.some((r) => r.startsWith('"key.revoked"') && r.includes(`${admin.name} (api-key:`) && r.includes(keySource(admin.apiKey)))
    ).toBe(true);
  });

  it('shows no key id in full in any page, and a secret only in its create answer', () => {
    expect(seen.length).toBeGreaterThan(10);
    expect(keyIds.length).toBeGreaterThan(8);
    const stackKey = stack().apiKey;
    for (const text of [...seen, ...secretsShown]) {
      for (const id of [...keyIds, sha256(stackKey)]) expect(text).not.toContain(id);
      expect(text).not.toContain(stackKey);
    }
    for (const text of seen.filter((t) => !secretsShown.has(t))) expect(text).not.toContain('id="new-key-secret"');
  });
});
