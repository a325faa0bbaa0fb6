import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { createApiKey } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { generateToken } from '../../lib/token.js';
import { isoWeekOf } from '../../lib/stats/funnel.js';
import { launchChromium, newPage, screenshot } from '../support/browser.js';
import { OTHER_SCRIPTS, signInWithForm, VIEWPORTS, waitForConsole } from '../support/console.js';
import { api, documentClientForStack, issue, stack, uniqueName } from '../support/stack.js';

/**
 * The onboarding funnel (#21) end to end on the shared stack: a scripted set
 * of redemptions (the landing form in Chromium, the JSON API, an app through
 * /xmpp/register), a refused redeem and a landing open, then the console's
 * /admin/funnel page shows them in this week's row. Other files issue and
 * redeem on `localhost` at the same time, so the page is read before and
 * after and the test asserts what others cannot take away: each count grew
 * by at least what this file did.
 */

const SLOW = { timeout: 240_000 };
const DOMAIN = 'localhost';
const password = () => `funnel ${randomBytes(6).toString('hex')} passphrase`;
const base = () => stack().baseUrl;

let browser: Browser;
const pages: Page[] = [];

/**
 * Signs in with fetch; returns the `Cookie` header value. Sign-ins from
 * 127.0.0.1 share one per-address limit with every console test file
 * running alongside: on a 429 it waits for the window to pass.
 */
const signIn = signInWithForm;

let adminCookie: Promise<string> | undefined;
const adminSession = () => (adminCookie ??= signIn());

type Counts = Record<string, number>;
const COUNTS = ['issued', 'opened', 'registered', 'registered-web', 'registered-app', 'registered-api', 'refused'];

/** This week's row of the funnel page, as numbers; with the refusals by reason. */
const readWeek = async (cookie: string): Promise<{ counts: Counts; reasons: Counts; html: string }> => {
  const res = await fetch(`${base()}/admin/funnel?domain=${DOMAIN}`, { headers: { cookie }, redirect: 'manual' });
  const html = await res.text();
  expect(res.status, html.slice(0, 300)).toBe(200);
  const week = isoWeekOf(new Date().toISOString().slice(0, 10)).week;
  const row = new RegExp(`<tr data-week="${week}">(.*?)</tr>`).exec(html)?.[1];
  expect(row, `no row for ${week}`).toBeDefined();
  const counts: Counts = {};
  for (const name of COUNTS) counts[name] = Number(new RegExp(`<td data-count="${name}">(\\d+)`).exec(row as string)?.[1]);
  const reasons: Counts = {};
  for (const m of (row as string).matchAll(/<li data-reason="([a-z-]+)"><code>[a-z-]+<\/code> (\d+)<\/li>/g)) reasons[m[1]!] = Number(m[2]);
  return { counts, reasons, html };
};

const moduleKey = async () =>
  (
    await createApiKey(
      {
        store: new DynamoDBApiKeyStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() }),
        clock: systemClock,
      },
      { name: uniqueName('funnel-module-'), domains: [DOMAIN], kind: 'xmpp-server' }
    )
  ).secret;

beforeAll(async () => {
  browser = await launchChromium();
  await waitForConsole();
}, 240_000);

afterAll(async () => {
  await Promise.allSettled(pages.map((p) => p.context().close()));
  await browser?.close();
});

describe('the onboarding funnel page', () => {
  it('counts an issue, a landing open, a registration on each channel and a refusal in this week of the domain', SLOW, async () => {
    const cookie = await adminSession();
    const before = await readWeek(cookie);

    // Three invites (issued +3, from the stream).
    const [web, json, app] = [await issue({}), await issue({}), await issue({})];

    // The web: the landing page in Chromium (opened +1), its form (registered web +1).
    const page = await newPage(browser, { viewport: { width: 390, height: 844 } });
    pages.push(page);
    const landing = await page.goto(`${base()}/i/${web.token}`);
    expect(landing?.status()).toBe(200);
    const webPassword = password();
    await page.fill('#username', uniqueName('fw'));
    await page.fill('#password', webPassword);
    await page.fill('#confirm', webPassword);
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.request().resourceType() === 'document'),
      page.click('#submit'),
    ]);
    await page.locator('#done').waitFor();

    // The JSON API (registered api +1).
    const jsonPassword = password();
    const redeemed = await api('POST', `/invites/${json.token}/redeem`, {
      body: { username: uniqueName('fj'), password: jsonPassword },
      auth: false,
    });
    expect(redeemed.status, redeemed.text).toBe(201);

    // An app, through its server's module (registered app +1).
    const registered = await api('POST', '/xmpp/register', {
      body: { token: app.token, domain: DOMAIN, username: uniqueName('fa'), password: password() },
      auth: await moduleKey(),
    });
    expect(registered.status, registered.text).toBe(201);

    // A refusal: the JSON API's invite again, by someone else (token-used +1, on the invite's domain).
    const refused = await api('POST', `/invites/${json.token}/redeem`, {
      body: { username: uniqueName('fr'), password: password() },
      auth: false,
    });
    expect([refused.status, refused.body.error]).toEqual([410, 'token-used']);

    // The landing form of the used web invite (token-used +1, on its domain, rendered as a page).
    const again = await fetch(`${base()}/i/${web.token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: uniqueName('fx'), password: webPassword, confirm: webPassword }).toString(),
    });
    expect(again.status).toBe(410);
    // An app with a token that matches no invite (token-invalid +1, on the module's domain).
    const unknown = await api('POST', '/xmpp/register', {
      body: { token: generateToken(), domain: DOMAIN, username: uniqueName('fu'), password: password() },
      auth: await moduleKey(),
    });
    expect([unknown.status, unknown.body.error]).toEqual([404, 'token-invalid']);

    // Issued and registered come from the stream, a moment later.
    const want = { issued: 3, opened: 1, registered: 3, 'registered-web': 1, 'registered-api': 1, 'registered-app': 1, refused: 3 };
    const deadline = Date.now() + 60_000;
    let after = await readWeek(cookie);
    while (Object.entries(want).some(([k, n]) => (after.counts[k] ?? 0) - (before.counts[k] ?? 0) < n) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      after = await readWeek(cookie);
    }
    for (const [k, n] of Object.entries(want)) {
      expect((after.counts[k] ?? 0) - (before.counts[k] ?? 0), k).toBeGreaterThanOrEqual(n);
    }
    expect((after.reasons['token-used'] ?? 0) - (before.reasons['token-used'] ?? 0)).toBeGreaterThanOrEqual(2);
    expect((after.reasons['token-invalid'] ?? 0) - (before.reasons['token-invalid'] ?? 0)).toBeGreaterThanOrEqual(1);
    // No token and no invite id is ever on the page.
    for (const invite of [web, json, app]) {
      expect(after.html).not.toContain(invite.token);
      expect(after.html).not.toContain(invite.id);
    }
  });

  for (const [name, viewport] of VIEWPORTS) {
    it(`shows the weeks as a table and an SVG chart with a title, without inline script (${name})`, SLOW, async () => {
      const page = await newPage(browser, { viewport });
      pages.push(page);
      // The file's session, handed to the browser as the sign-in would set it (one sign-in per file).
      const session = await adminSession();
      const at = session.indexOf('=');
      await page.context().addCookies([{ name: session.slice(0, at), value: session.slice(at + 1), url: `${base()}/admin` }]);

      const response = await page.goto(`${base()}/admin/funnel?domain=${DOMAIN}&weeks=8`);

      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
      await expect(page.locator(OTHER_SCRIPTS).count()).resolves.toBe(0);
      await expect(page.locator('tbody tr').count()).resolves.toBe(8);
      const chart = page.locator('svg.chart');
      await expect(chart.getAttribute('role')).resolves.toBe('img');
      await expect(page.locator('svg.chart title').textContent()).resolves.toContain(DOMAIN);
      // Scaled to the page: never wider than the viewport (no sideways scroll on a phone).
      const box = await chart.boundingBox();
      expect(box?.width ?? 0).toBeGreaterThan(200);
      expect(box?.width ?? 0).toBeLessThanOrEqual(viewport.width);
      // The stylesheet's colours reached the bars (the CSP allows no style attribute).
      const fill = await page
        .locator('svg.chart rect.s-registered')
        .first()
        .evaluate((el) => getComputedStyle(el).fill);
      expect(fill).not.toBe('rgb(0, 0, 0)');
      await expect(page.locator('nav a[aria-current=page]').textContent()).resolves.toBe('Onboarding');
      await screenshot(page, `console-funnel-${name}`);
    });
  }

  it('refuses a bad number of weeks (400) and a domain the key may not see (403)', SLOW, async () => {
    const cookie = await adminSession();
    const bad = await fetch(`${base()}/admin/funnel?domain=${DOMAIN}&weeks=27`, { headers: { cookie } });
    expect(bad.status).toBe(400);
    const scoped = await createApiKey(
      {
        store: new DynamoDBApiKeyStore({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() }),
        clock: systemClock,
      },
      { name: uniqueName('funnel-scoped-'), domains: ['other.example'] }
    );
    const scopedCookie = await signIn(scoped.secret);
    const forbidden = await fetch(`${base()}/admin/funnel?domain=${DOMAIN}`, { headers: { cookie: scopedCookie } });
    expect(forbidden.status).toBe(403);
    const own = await fetch(`${base()}/admin/funnel`, { headers: { cookie: scopedCookie } });
    expect(own.status).toBe(200);
    expect(await own.text()).toContain('Onboarding on other.example');
  });
});
