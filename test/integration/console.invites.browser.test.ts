import { createHash } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { sha256 } from '../../lib/token.js';
import { launchChromium, newPage, screenshot } from '../support/browser.js';
import { addSession, consoleHttp, sessionCookie, VIEWPORTS, waitForConsole } from '../support/console.js';
import { api, documentClientForStack, stack, uniqueName } from '../support/stack.js';

/**
 * The console's invites (#21) in a real Chromium against the shared stack:
 * filters (inviter, type, source) and their "Next page" link, roster groups
 * in the create form, the copy button of a new link (the one console script),
 * one invite with its redemptions, and bad filters. The session is this
 * file's own admin key, signed as the console signs it (no sign-in: the
 * sign-in limit per address is another file's to spend).
 */

const SLOW = { timeout: 180_000 };
const base = () => stack().baseUrl;

let browser: Browser;
const pages: Page[] = [];
/** This file's admin key: its name is what the source filter offers. */
let keyName: string;
let secret: string;
let keyId: string;
let cookie: string;
/** Every HTML body seen here: none may hold a key, a key id or an invite id. */
const seen: string[] = [];
const inviteIds: string[] = [];

const http = consoleHttp(seen);
const get = (path: string) => http.get(path, cookie);

/** A page signed in as this file's key, clipboard allowed. */
const signedInPage = async (viewport: { width: number; height: number }) => {
  const page = await newPage(browser, { viewport });
  pages.push(page);
  await addSession(page, secret);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(base()).origin });
  return page;
};

const rowsOf = async (page: Page) => (await page.locator('table tbody tr').allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));

beforeAll(async () => {
  browser = await launchChromium();
  await waitForConsole();
  const keys = new DynamoDBApiKeyStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
  keyName = uniqueName('console-invites-');
  const made = await createApiKey({ store: keys, clock: systemClock }, { name: keyName, domains: ['localhost', 'other.example'] });
  secret = made.secret;
  keyId = made.apiKey.id;
  cookie = sessionCookie(secret);
}, 240_000);

afterAll(async () => {
  await Promise.allSettled(pages.map((p) => p.context().close()));
  await browser?.close();
});

describe('console invites in Chromium', () => {
  for (const [name, viewport] of VIEWPORTS) {
    it(`creates an invite with roster groups, copies its link, and finds it by inviter, type and source (${name})`, SLOW, async () => {
      const inviter = `${uniqueName('boss')}@localhost`;
      // The same inviter's invite from another key (the stack's): the source filter leaves it out.
      const other = await api('POST', '/invites', { body: { inviter, note: uniqueName('stack-') } });
      expect(other.status).toBe(201);
      inviteIds.push(other.body.id);

      const page = await signedInPage(viewport);
      await page.goto(`${base()}/admin/invites`);
      const note = uniqueName('groups-');
      await page.selectOption('select#domain', 'localhost');
      await page.fill('#inviter', inviter);
      await page.fill('#groups', 'Friends\n\n  Book club  \n');
      await page.fill('#note', note);
      await page.click('form.grid button[type=submit]');
      await page.locator('#issued').waitFor();
      const link = await page.locator('#issued-link').inputValue();
      inviteIds.push(sha256(link.slice(link.lastIndexOf('/') + 1)));

      // The one script (by hash and integrity) shows the copy button, which puts the link on the clipboard.
      const script = page.locator('head script');
      await expect(script.count()).resolves.toBe(1);
      expect(await script.getAttribute('integrity')).toMatch(/^sha256-[A-Za-z0-9+/]{43}=$/);
      await expect(page.locator('#copy-link').isVisible()).resolves.toBe(true);
      await page.click('#copy-link');
      await page.waitForFunction(() => document.getElementById('copy-link')?.textContent === 'Copied');
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);
      await screenshot(page, `console-invites-copied-${name}`);
      seen.push(await page.content());

      // By inviter: both invites; and by type and source, this key's only.
      await page.fill('#f-inviter', inviter);
      await page.selectOption('#f-domain', 'localhost');
      await page.click('form.filters button[type=submit]');
      await page.waitForURL(/inviter=/);
      let rows = await rowsOf(page);
      expect(rows).toHaveLength(2);
      expect(rows.some((r) => r.includes(note))).toBe(true);

      await page.selectOption('#f-source', { label: keyName });
      await page.click('form.filters button[type=submit]');
      await page.waitForURL(/source=/);
      rows = await rowsOf(page);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toContain(note);
      // The filter keeps its choices, and the key's id is nowhere (its option value is sealed).
      expect(await page.locator('#f-source option:checked').innerText()).toBe(keyName);
      expect(await page.locator('#f-inviter').inputValue()).toBe(inviter);

      await page.selectOption('#f-type', 'contact');
      await page.click('form.filters button[type=submit]');
      await page.waitForURL(/type=contact/);
      await expect(page.locator('table tbody tr').count()).resolves.toBe(0);
      await expect(page.getByText('No invites match.').isVisible()).resolves.toBe(true);
      await page.selectOption('#f-type', 'account');
      await page.click('form.filters button[type=submit]');
      await page.waitForURL(/type=account/);
      expect(await rowsOf(page)).toHaveLength(1);
      await screenshot(page, `console-invites-filtered-${name}`);
      seen.push(await page.content());

      // Its page: the groups as entered (trimmed, blank lines left out), the source by the key's name.
      await page.locator('tr', { hasText: note }).getByRole('link', { name: 'Details' }).click();
      await page.waitForURL(/\/admin\/invites\/show\?invite=/);
      const facts = (await page.locator('dl.facts').innerText()).replace(/\s+/g, ' ');
      expect(facts).toContain('Roster groups Friends, Book club');
      expect(facts).toContain(`Inviter ${inviter}`);
      expect(facts).toContain(keyName);
      expect(facts).toContain('Used 0/1');
      await expect(page.getByText('Not redeemed yet.').isVisible()).resolves.toBe(true);
      seen.push(await page.content());
    });
  }

  it('shows an invite redeemed once with its redemption, linked to the lineage page, and revokes it there', SLOW, async () => {
    const note = uniqueName('redeemed-');
    const issued = await api('POST', '/invites', { body: { maxUses: 2, note }, auth: secret });
    expect(issued.status).toBe(201);
    inviteIds.push(issued.body.id);
    const username = uniqueName('console');
    const redeemed = await api('POST', `/invites/${issued.body.token}/redeem`, {
      auth: false,
      body: { username, password: 'correct horse battery' },
    });
    expect(redeemed.status).toBe(201);
    const jid = `${username}@localhost`;

    for (const [name, viewport] of [
      ['phone', { width: 390, height: 844 }],
      ['desktop', { width: 1280, height: 900 }],
    ] as const) {
      const page = await signedInPage(viewport);
      // This key's invites on localhost: the source filter makes it this file's list.
      await page.goto(`${base()}/admin/invites?domain=localhost`);
      await page.selectOption('#f-source', { label: keyName });
      await page.click('form.filters button[type=submit]');
      await page.waitForURL(/source=/);
      await page.locator('tr', { hasText: note }).getByRole('link', { name: 'Details' }).click();
      await page.waitForURL(/\/admin\/invites\/show\?/);
      const rows = await rowsOf(page);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toContain(jid);
      expect(rows[0]).toContain('account');
      const lineage = page.locator('#redemptions a', { hasText: jid });
      expect(await lineage.getAttribute('href')).toBe(`/admin/lineage?${new URLSearchParams({ jid })}`);
      expect((await page.locator('dl.facts').innerText()).replace(/\s+/g, ' ')).toContain('Used 1/2');
      await screenshot(page, `console-invite-detail-${name}`);
      seen.push(await page.content());
    }

    // Revoke from its page: back to it, revoked; the API says so too.
    const page = pages.at(-1) as Page;
    await page.locator('form[action="/admin/invites/revoke"] button').click();
    await page.waitForURL(/revoked=1/);
    expect(page.url()).toContain('/admin/invites/show?');
    await expect(page.locator('dl.facts [data-status]').getAttribute('data-status')).resolves.toBe('revoked');
    await expect(page.locator('form[action="/admin/invites/revoke"]').count()).resolves.toBe(0);
    seen.push(await page.content());
    expect((await api('GET', `/invites/by-id/${issued.body.id}`)).body.status).toBe('revoked');
  });
});

describe('console invites, without a browser', () => {
  it('keeps every filter in the "Next page" link', SLOW, async () => {
    const note = uniqueName('paged-');
    const made: string[] = [];
    for (let n = 0; n < 26; n++) {
      const res = await api('POST', '/invites', { body: { domain: 'other.example', note: `${note}-${n}` }, auth: secret });
      expect(res.status).toBe(201);
      made.push(res.body.id);
    }
    inviteIds.push(...made);
    const list = await get('/admin/invites?domain=other.example');
    const option = new RegExp(`<option value="([A-Za-z0-9_-]+)">${keyName}</option>`).exec(list.text);
    expect(option).not.toBeNull();
    const source = option?.[1] as string;
    const first = await get(`/admin/invites?${new URLSearchParams({ domain: 'other.example', status: 'valid', type: 'account', source })}`);
    expect(first.res.status).toBe(200);
    expect((first.text.match(new RegExp(`${note}-`, 'g')) ?? []).length).toBe(25);
    const next = /<a href="([^"]+)">Next page<\/a>/.exec(first.text)?.[1]?.replaceAll('&amp;', '&') as string;
    expect(next).toBeDefined();
    const params = new URL(next, base()).searchParams;
    expect(Object.fromEntries([...params].filter(([k]) => k !== 'cursor'))).toEqual({
      domain: 'other.example',
      status: 'valid',
      type: 'account',
      source,
    });
    const second = await get(next);
    expect(second.res.status).toBe(200);
    // The two pages hold the 26, each once.
    const numbers = (text: string) => [...text.matchAll(new RegExp(`${note}-(\\d+)<`, 'g'))].map((m) => Number(m[1]));
    expect(numbers(second.text)).toHaveLength(1);
    expect([...numbers(first.text), ...numbers(second.text)].sort((a, b) => a - b)).toEqual(made.map((_, n) => n));
  });

  it('answers a bad filter with 400 and a message that names it', SLOW, async () => {
    const cases: [string, string, RegExp][] = [
      ['inviter=nobody', 'jid-invalid', /JID|jid/],
      ['type=admin', 'invalid-request', /type must be one of account, contact, reset/],
      ['status=gone', 'invalid-request', /status must be one of/],
      ['source=not-a-listed-source', 'invalid-request', /source must be one of the sources the filter lists/],
      ['source=webhook:no-such-form', 'invalid-request', /source must be one of the sources the filter lists/],
      ['cursor=forged', 'cursor-invalid', /cursor/],
    ];
    for (const [qs, code, message] of cases) {
      const { res, text } = await get(`/admin/invites?domain=localhost&${qs}`);
      expect({ qs, status: res.status }).toEqual({ qs, status: 400 });
      expect(text).toContain(`data-error="${code}"`);
      expect(text).toMatch(message);
    }
    // A signup webhook the filter offers is a filter that answers.
    const offered = /<option value="(webhook:[^"]+)">/.exec((await get('/admin/invites?domain=localhost')).text)?.[1];
    expect(offered).toBeDefined();
    expect((await get(`/admin/invites?${new URLSearchParams({ domain: 'localhost', source: offered as string })}`)).res.status).toBe(200);
    // A handle that is not this session's is no invite.
    expect((await get('/admin/invites/show?invite=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).res.status).toBe(404);
    expect((await get('/admin/invites/show')).res.status).toBe(404);
  });

  it('refuses a group the issue use case refuses, with its message, and creates nothing', SLOW, async () => {
    const list = await get('/admin/invites?domain=localhost');
    const csrf = /name="csrf" value="([^"]+)"/.exec(list.text)?.[1] as string;
    const note = uniqueName('badgroup-');
    for (const [groups, message] of [
      ['Friends;Family', "groups entries must be 1-100 printable characters, without ';'"],
      [Array.from({ length: 21 }, (_, n) => `g${n}`).join('\n'), 'groups must be a list of at most 20 names'],
      ['x'.repeat(101), "groups entries must be 1-100 printable characters, without ';'"],
    ]) {
      const res = await fetch(`${base()}/admin/invites`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
        body: new URLSearchParams({ csrf, domain: 'localhost', note, groups: groups as string }).toString(),
      });
      const text = await res.text();
      seen.push(text);
      expect(res.status).toBe(400);
      expect(text).toContain('data-error="create"');
      expect(text.replaceAll('&#39;', "'")).toContain(message);
      expect(text).not.toContain('id="issued-link"');
      // The form comes back as entered, the groups field marked.
      expect(text).toContain(`id="note" name="note" maxlength="100" value="${note}"`);
      expect(text).toMatch(/<textarea id="groups"[^>]*aria-invalid="true"/);
      expect(text).toContain(`>${groups}</textarea>`);
    }
    const mine = await api('GET', `/invites?domain=localhost&source=${encodeURIComponent(`api-key:${keyId.slice(0, 12)}`)}&limit=200`);
    expect(mine.body.items.filter((i: { note: string }) => i.note === note)).toEqual([]);
  });

  it('serves its script with a long cache and the hash the pages name', SLOW, async () => {
    const list = await get('/admin/invites?domain=other.example');
    const tag = /<script src="([^"]+)" integrity="([^"]+)" defer><\/script>/.exec(list.text);
    expect(tag).not.toBeNull();
    const res = await fetch(`${base()}${tag?.[1]}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toContain('immutable');
    const body = await res.text();
    expect(`sha256-${createHash('sha256').update(body).digest('base64')}`).toBe(tag?.[2]);
    expect(list.res.headers.get('content-security-policy')).toContain(`script-src '${tag?.[2]}'`);
  });

  it('shows no API key, key id or invite id in any page', () => {
    expect(seen.length).toBeGreaterThan(8);
    for (const text of seen) {
      for (const s of [secret, keyId, keyId.slice(0, 12), stack().apiKey, sha256(stack().apiKey), ...inviteIds]) {
        expect(text).not.toContain(s);
      }
    }
  });
});
