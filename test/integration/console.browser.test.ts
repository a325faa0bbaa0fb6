import { createHmac, randomBytes } from 'node:crypto';
import jsqr from 'jsqr';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSession } from '../../lib/web/console/session.js';
import { sha256 } from '../../lib/token.js';
import { launchChromium, newPage, screenshot } from '../support/browser.js';
import { consoleHttp, csrfOf, OTHER_SCRIPTS, signInWithForm, VIEWPORTS, waitForConsole } from '../support/console.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { httpEvent, lambdaContext } from '../support/lambda.js';
import { documentClientForStack, stack, uniqueName, useStackEnv } from '../support/stack.js';

/**
 * The admin console (#21) in a real Chromium against the shared stack
 * (serverless-offline, DynamoDB Local): sign in with the stack's admin key,
 * create an invite and read its QR code, revoke it; and what it refuses.
 */

const jsQR = (jsqr as unknown as { default: (typeof jsqr)['default'] }).default;
const SLOW = { timeout: 180_000 };

let browser: Browser;
const pages: Page[] = [];
/** Every HTML body this file saw: none may hold the key, its id or an invite id. */
const seen: string[] = [];
const inviteIds: string[] = [];
/** Other keys' secrets and ids made here. */
const secrets: string[] = [];

const base = () => stack().baseUrl;

const { get, post } = consoleHttp(seen);
const signIn = signInWithForm;

beforeAll(async () => {
  browser = await launchChromium();
  await waitForConsole();
}, 240_000);

afterAll(async () => {
  await Promise.allSettled(pages.map((p) => p.context().close()));
  await browser?.close();
});

describe('admin console in Chromium', () => {
  for (const [name, viewport] of VIEWPORTS) {
    it(`signs in, creates an invite whose QR code holds its link, and revokes it (${name})`, SLOW, async () => {
      const page = await newPage(browser, { viewport });
      pages.push(page);
      const signInResponse = await page.goto(`${base()}/admin`);
      expect(signInResponse?.headers()['content-security-policy']).toContain("default-src 'none'");
      await screenshot(page, `console-sign-in-${name}`);
      await page.fill('#key', stack().apiKey);
      await page.click('button[type=submit]');
      await page.waitForURL(/\/admin\/invites$/);

      const [cookie] = await page.context().cookies();
      expect(cookie).toMatchObject({ name: 'console_session', path: '/admin', httpOnly: true, secure: true, sameSite: 'Strict' });
      expect((cookie?.expires ?? 0) - Date.now() / 1000).toBeGreaterThan(12 * 3600 - 120);

      const note = uniqueName('console-');
      await page.fill('#username', uniqueName('c'));
      await page.fill('#maxUses', '1');
      await page.fill('#expiresInDays', '3');
      // The stack's second domain: other test files running alongside fill
      // localhost's list faster than this page reads it.
      await page.selectOption('select#domain', 'other.example');
      await page.fill('#note', note);
      await page.click('form.grid button[type=submit]');
      await page.locator('#issued').waitFor();
      const link = await page.locator('#issued-link').inputValue();
      expect(link).toMatch(new RegExp(`^${base()}/i/[A-Za-z0-9_-]{20,}$`));
      inviteIds.push(sha256(link.slice(link.lastIndexOf('/') + 1)));

      const png = PNG.sync.read(await page.locator('#issued svg.qr').screenshot());
      expect(jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data).toBe(link);
      // No inline script: the one console script, by its hash (console.invites.browser.test.ts tests it).
      await expect(page.locator(OTHER_SCRIPTS).count()).resolves.toBe(0);
      await screenshot(page, `console-issued-${name}`);
      seen.push(await page.content());

      const row = page.locator('tr', { hasText: note });
      await expect(row.getAttribute('data-status')).resolves.toBe('valid');
      await row.locator('button', { hasText: 'Revoke' }).click();
      await page.waitForURL(/revoked=1/);
      await page.goto(`${base()}/admin/invites?domain=other.example`);
      await expect(page.locator('tr', { hasText: note }).getAttribute('data-status')).resolves.toBe('revoked');
      await screenshot(page, `console-revoked-${name}`);
      seen.push(await page.content());

      // The invite is revoked for everyone: the API says so too.
      const check = await fetch(`${link.replace('/i/', '/invites/')}`);
      expect(check.status).toBe(410);
    });
  }
});

describe('admin console refusals', () => {
  it('sends a visitor without a session to sign in, and refuses a form post with 401', SLOW, async () => {
    const page = await get('/admin/invites');
    expect(page.res.status).toBe(303);
    expect(page.res.headers.get('location')).toBe('/admin');
    const postNoSession = await post('/admin/invites', { note: 'x' });
    expect(postNoSession.res.status).toBe(401);
  });

  it('refuses a forged cookie and an expired one', SLOW, async () => {
    const keyId = sha256(stack().apiKey);
    const now = Math.floor(Date.now() / 1000);
    const forged = signSession('f'.repeat(43), keyId, now);
    const expired = signSession(stack().env.CONSOLE_SESSION_KEY as string, keyId, now - 13 * 3600);
    const valid = signSession(stack().env.CONSOLE_SESSION_KEY as string, keyId, now);
    for (const value of [forged, expired, `v1.${keyId}.${now + 3600}.${'A'.repeat(43)}`]) {
      const { res } = await get('/admin/invites', `console_session=${value}`);
      expect(res.status, value).toBe(303);
      expect(res.headers.get('location')).toBe('/admin');
    }
    // The same key signs a session that works: the refusals above are the forgery and the expiry.
    expect((await get('/admin/invites', `console_session=${valid}`)).res.status).toBe(200);
  });

  it('refuses a form without the session CSRF token with 403, and creates nothing', SLOW, async () => {
    const cookie = await signIn();
    const note = uniqueName('csrf-');
    const other = createHmac('sha256', 'x').update('y').digest('base64url');
    for (const csrf of [undefined, '', other]) {
      const { res, text } = await post('/admin/invites', { note, ...(csrf === undefined ? {} : { csrf }) }, cookie);
      expect(res.status).toBe(403);
      expect(text).toContain('data-error="forbidden"');
    }
    const revokeNoCsrf = await post('/admin/invites/revoke', { invite: 'x' }, cookie);
    expect(revokeNoCsrf.res.status).toBe(403);
    const list = await get('/admin/invites?status=valid', cookie);
    expect(list.text).not.toContain(note);
    // With the token it works: the refusals were the token's.
    const made = await post('/admin/invites', { note, csrf: csrfOf(list.text) }, cookie);
    expect(made.res.status).toBe(201);
    expect(made.text).toContain('id="issued-link"');
    const link = /id="issued-link" readonly value="([^"]+)"/.exec(made.text)?.[1] as string;
    inviteIds.push(sha256(link.slice(link.lastIndexOf('/') + 1)));
  });

  it('ends the session when its key is revoked, and refuses a quota-limited key', SLOW, async () => {
    const keys = new DynamoDBApiKeyStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
    const admin = await createApiKey({ store: keys, clock: systemClock }, { name: uniqueName('console-admin-'), domains: ['localhost'] });
    const cookie = await signIn(admin.secret);
    const page = await get('/admin/invites', cookie);
    expect(page.res.status).toBe(200);
    // Scoped to the key's domains: other.example is served, but not this key's.
    expect(page.text).not.toContain('other.example');
    const foreign = await get('/admin/invites?domain=other.example', cookie);
    expect(foreign.res.status).toBe(403);
    await keys.revoke(admin.apiKey.id, systemClock.now());
    const after = await get('/admin/invites', cookie);
    expect(after.res.status).toBe(303);
    expect(after.res.headers.get('location')).toBe('/admin');

    const quota = await createApiKey(
      { store: keys, clock: systemClock },
      { name: uniqueName('console-quota-'), domains: ['localhost'], maxLiveInvites: 3 }
    );
    const refused = await post('/admin/session', { key: quota.secret });
    expect(refused.res.status).toBe(403);
    expect(refused.res.headers.getSetCookie()).toEqual([]);
    secrets.push(admin.secret, admin.apiKey.id, quota.secret, quota.apiKey.id);
  });

  it('shows no API key, key id or invite id in any page', () => {
    const key = stack().apiKey;
    expect(seen.length).toBeGreaterThan(5);
    expect(inviteIds.length).toBe(3);
    for (const text of seen) {
      expect(text).not.toContain(key);
      expect(text).not.toContain(sha256(key));
      for (const id of [...inviteIds, ...secrets]) expect(text).not.toContain(id);
    }
  });

  // In this process with a low limit and an address of its own: the stack's budget for 127.0.0.1 is every console file's.
  it('refuses a wrong key with 401 and, past the limit per address, with 429', SLOW, async () => {
    useStackEnv();
    process.env.CONSOLE_SIGNINS_PER_IP = '5';
    const { handler } = await import('../../functions/adminConsole.js');
    const sourceIp = `2001:db8:${randomBytes(2).toString('hex')}::1`;
    const signInFrom = async (ip: string, key: string) => {
      const res = (await (handler as (e: unknown, c: unknown) => Promise<{ statusCode: number; body?: string; cookies?: string[] }>)(
        httpEvent({
          method: 'POST',
          path: '/admin/session',
          sourceIp: ip,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          raw: new URLSearchParams({ key }).toString(),
        }),
        lambdaContext()
      )) as { statusCode: number; body?: string; cookies?: string[] };
      seen.push(res.body ?? '');
      return res;
    };
    const wrong = `xik_${'A'.repeat(43)}`;
    const first = await signInFrom(sourceIp, wrong);
    expect(first.statusCode).toBe(401);
    expect(first.cookies ?? []).toEqual([]);
    expect(first.body).toContain('data-error="unauthorized"');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await signInFrom(sourceIp, wrong)).statusCode);
    expect(statuses).toContain(429);
    expect(statuses.slice(statuses.indexOf(429)).every((s) => s === 429)).toBe(true);
    // The right key is refused too now: it is the address that is limited (IPv6 per /64: a neighbour too).
    expect((await signInFrom(sourceIp, stack().apiKey)).statusCode).toBe(429);
    expect((await signInFrom(sourceIp.replace(/::1$/, '::2'), stack().apiKey)).statusCode).toBe(429);
    // Another address signs in.
    expect((await signInFrom(`2001:db8:${randomBytes(2).toString('hex')}:1::1`, stack().apiKey)).statusCode).toBe(303);
  });
});
