import { randomBytes } from 'node:crypto';
import jsqr from 'jsqr';
import { PNG } from 'pngjs';
import type { Browser, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, newPage, screenshot } from '../support/browser.js';
import { api, canLogin, expireInvite, prosodyAdmin, stack, uniqueName, type ApiResponse } from '../support/stack.js';

/**
 * The landing page in a real Chromium against the shared stack: serverless-offline
 * serves the functions, DynamoDB Local holds the invites, Prosody gets the accounts.
 */

const PASSWORD = 'correct horse battery';

// jsqr is CommonJS whose types declare an ES default; its module object carries `default` too.
const jsQR = (jsqr as unknown as { default: (typeof jsqr)['default'] }).default;

let browser: Browser;
const pages: Page[] = [];

/** Two cores shared with other test runs: a cold function can take many seconds. */
const SLOW = { timeout: 180_000 };

/**
 * serverless-offline answers a Lambda timeout (a cold start on a loaded
 * machine) with 200 and `errorType`. Setup calls made through the JSON API
 * are retried then; every call here is idempotent or harmless to repeat.
 * The landing page's own requests are never retried.
 */
const setupCall = async (method: string, path: string, body?: unknown, auth?: false): Promise<ApiResponse> => {
  for (let attempt = 1; ; attempt++) {
    const res = await api(method, path, { body, ...(auth === false ? { auth } : {}) });
    if (res.body?.errorType === 'LambdaTimeoutError' && attempt < 3) continue;
    return res;
  }
};

const issue = async (body: Record<string, unknown> = {}) => {
  const res = await setupCall('POST', '/invites', body);
  if (res.status !== 201) throw new Error(`issue failed: ${res.status} ${res.text}`);
  return res.body as { id: string; token: string; uri: string; landingUrl: string };
};

/** Brings both landing functions (and the lazily loaded XMPP code) up before the first test measures anything. */
const warmUp = async () => {
  const probe = randomBytes(18).toString('base64url');
  const deadline = Date.now() + 150_000;
  for (const method of ['GET', 'POST']) {
    for (;;) {
      const res = await fetch(`${stack().baseUrl}/i/${probe}`, {
        method,
        ...(method === 'POST' ? { body: 'username=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
      });
      const text = await res.text();
      if (res.status === 404 && text.includes('data-status="token-invalid"')) break;
      if (Date.now() > deadline) throw new Error(`${method} /i/{token} did not come up: ${res.status} ${text.slice(0, 300)}`);
    }
  }
  await issue({});
};

beforeAll(async () => {
  browser = await launchChromium();
  await warmUp();
}, 240_000);

afterAll(async () => {
  await Promise.allSettled(pages.map((p) => p.context().close()));
  await browser?.close();
});

const open = async (token: string, options: Parameters<typeof newPage>[1] = {}): Promise<{ page: Page; response: Response }> => {
  const page = await newPage(browser, options);
  pages.push(page);
  const response = await page.goto(`${stack().baseUrl}/i/${token}`);
  if (!response) throw new Error('no response for the landing page');
  return { page, response };
};

interface FormInput {
  username?: string;
  password: string;
  confirm?: string;
}

/** Fills the form like a person and submits it; resolves with the POST's response. */
const submit = async (page: Page, input: FormInput): Promise<Response> => {
  if (input.username !== undefined) await page.fill('#username', input.username);
  await page.fill('#password', input.password);
  await page.fill('#confirm', input.confirm ?? input.password);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.request().resourceType() === 'document'),
    page.click('#submit'),
  ]);
  await page.waitForLoadState('domcontentloaded');
  return response;
};

const adminShow = async (id: string) => {
  const res = await setupCall('GET', `/invites/by-id/${id}`);
  expect(res.status).toBe(200);
  expect(res.body).toHaveProperty('redemptions');
  return res.body as { uses: number; usesLeft: number | null; redemptions: { jid: string }[] };
};

/** An account on the test Prosody, made through an invite like any user. */
const existingAccount = async (password = PASSWORD) => {
  const invite = await issue({});
  const username = uniqueName('e');
  // A retry of the same redemption is answered like the first: safe to repeat.
  const res = await setupCall('POST', `/invites/${invite.token}/redeem`, { username, password }, false);
  expect(res.status).toBe(201);
  return `${username}@localhost`;
};

describe('Landing page: account invites', SLOW, () => {
  it('shows the invite, registers on the web, and the new account logs in over XMPP', async () => {
    const invite = await issue({});
    const { page, response } = await open(invite.token);
    expect(response.status()).toBe(200);
    await expect(page.locator('h1').innerText()).resolves.toContain('localhost');
    await expect(page.locator('#open-invite').getAttribute('href')).resolves.toBe(invite.uri);
    // Apps per platform, each saying whether it opens invites itself.
    const apps = await page.locator('ul.apps li').allInnerTexts();
    expect(apps.some((a) => a.includes('Conversations') && a.includes('opens invites'))).toBe(true);
    expect(apps.some((a) => a.includes('Dino') && a.includes('create your account below first'))).toBe(true);
    await expect(page.locator('a', { hasText: 'Conversations' }).getAttribute('href')).resolves.toBe(
      `https://play.google.com/store/apps/details?id=eu.siacs.conversations&referrer=${encodeURIComponent(invite.uri)}`
    );
    await expect(page.locator('p.muted', { hasText: 'valid until' }).innerText()).resolves.toMatch(/valid until .* UTC/);
    await screenshot(page, 'account-invite');

    const username = uniqueName('w');
    const done = await submit(page, { username, password: PASSWORD });
    expect(done.status()).toBe(200);
    await expect(page.locator('#jid').innerText()).resolves.toBe(`${username}@localhost`);
    await expect(page.locator('h1').innerText()).resolves.toContain('Your account is ready');
    await expect(page.locator('ol.steps').innerText()).resolves.toContain(`${username}@localhost`);
    await screenshot(page, 'account-created');

    expect(await canLogin(`${username}@localhost`, PASSWORD)).toBe(true);
    const shown = await adminShow(invite.id);
    expect(shown.redemptions.map((r) => r.jid)).toEqual([`${username}@localhost`]);
  });

  it('sends a strict CSP, no referrer and the invite URI as a Link header, and the hashed stylesheet applies', async () => {
    const invite = await issue({});
    const violations: string[] = [];
    const page = await newPage(browser);
    pages.push(page);
    // A clean page logs nothing: no CSP violation, no rejected header.
    page.on('console', (m) => {
      if (m.type() === 'error' || m.text().includes('Content Security Policy')) violations.push(m.text());
    });
    const response = await page.goto(`${stack().baseUrl}/i/${invite.token}`);
    const headers = response!.headers();
    const csp = headers['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]{44}'/);
    expect(csp).toContain("form-action 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('script-src');
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(headers.link).toBe(`<${invite.uri}>; rel="alternate"`);
    expect(headers['content-type']).toBe('text/html; charset=utf-8');
    expect(headers['cache-control']).toBe('no-store');
    expect(headers['permissions-policy']).toContain('camera=()');
    // The CSS is only allowed by its hash: if it applies, the hash is right.
    await expect(page.locator('#open-invite').evaluate((e) => getComputedStyle(e).borderRadius)).resolves.toBe('8px');
    await expect(page.locator('svg.qr').evaluate((e) => getComputedStyle(e).width)).resolves.toBe('224px');
    expect(violations).toEqual([]);
    // Nothing runs on the page.
    await expect(page.locator('script').count()).resolves.toBe(0);
    await expect(page.locator('[style]').count()).resolves.toBe(0);
  });

  it('shows a QR code that decodes to the https landing URL, whose HEAD links the invite URI', async () => {
    const invite = await issue({});
    const { page } = await open(invite.token);
    // What a phone camera sees: the QR code as Chromium draws it.
    const png = PNG.sync.read(await page.locator('svg.qr').screenshot());
    await screenshot(page, 'account-invite-qr');
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    // Not the bare xmpp: URI: a camera without an XMPP app opens the page...
    expect(decoded?.data).toBe(`${stack().baseUrl}/i/${invite.token}`);
    expect(decoded?.data).toBe(invite.landingUrl);
    // ...and an app that scans it asks the URL and follows the Link header.
    const head = await fetch(decoded!.data, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('link')).toBe(`<${invite.uri}>; rel="alternate"`);
  });

  it('shows form errors next to their field, keeps the username but never the password, and burns nothing', async () => {
    const invite = await issue({});
    const { page } = await open(invite.token);

    const bad = await submit(page, { username: 'bad name', password: PASSWORD });
    expect(bad.status()).toBe(400);
    await expect(page.locator('#username-error').innerText()).resolves.toContain('cannot be used');
    await expect(page.locator('#username').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.locator('#username').inputValue()).resolves.toBe('bad name');
    await expect(page.locator('#password').inputValue()).resolves.toBe('');
    await expect(page.locator('#form-errors').isVisible()).resolves.toBe(true);
    await screenshot(page, 'form-error-username-invalid');

    const username = uniqueName('f');
    const mismatch = await submit(page, { username, password: PASSWORD, confirm: `${PASSWORD}!` });
    expect(mismatch.status()).toBe(400);
    await expect(page.locator('#confirm-error').innerText()).resolves.toContain('do not match');
    await expect(page.locator('#username-error').count()).resolves.toBe(0);
    await expect(page.locator('#username').inputValue()).resolves.toBe(username);
    await expect(page.locator('#password').inputValue()).resolves.toBe('');
    await expect(page.locator('#confirm').inputValue()).resolves.toBe('');
    await screenshot(page, 'form-error-mismatch');

    const weak = await submit(page, { username, password: 'aaaaaaaaaa' });
    expect(weak.status()).toBe(400);
    await expect(page.locator('#password-error').innerText()).resolves.toContain('stronger password');
    await expect(page.locator('#username').inputValue()).resolves.toBe(username);
    await screenshot(page, 'form-error-weak-password');

    const taken = (await existingAccount()).split('@')[0] as string;
    const conflict = await submit(page, { username: taken, password: PASSWORD });
    expect(conflict.status()).toBe(409);
    await expect(page.locator('#username-error').innerText()).resolves.toContain(`${taken}@localhost is already taken`);
    await expect(page.locator('#username').inputValue()).resolves.toBe(taken);
    await screenshot(page, 'form-error-username-taken');

    // None of the failures used the invite up.
    expect((await adminShow(invite.id)).uses).toBe(0);
    const ok = await submit(page, { username, password: PASSWORD });
    expect(ok.status()).toBe(200);
    await expect(page.locator('#jid').innerText()).resolves.toBe(`${username}@localhost`);
    expect(await canLogin(`${username}@localhost`, PASSWORD)).toBe(true);
  });

  it('creates one account when the same form is submitted twice', async () => {
    // Three uses, so a second account or a second use would show.
    const invite = await issue({ maxUses: 3 });
    const first = await open(invite.token);
    const second = await open(invite.token);
    const username = uniqueName('d');

    expect((await submit(first.page, { username, password: PASSWORD })).status()).toBe(200);
    // The second tab still holds the form: the same submission again answers success again.
    expect((await submit(second.page, { username, password: PASSWORD })).status()).toBe(200);
    await expect(second.page.locator('#jid').innerText()).resolves.toBe(`${username}@localhost`);
    await screenshot(second.page, 'double-submit-success');

    const shown = await adminShow(invite.id);
    expect(shown.uses).toBe(1);
    expect(shown.usesLeft).toBe(2);
    expect(shown.redemptions.map((r) => r.jid)).toEqual([`${username}@localhost`]);
    expect(await canLogin(`${username}@localhost`, PASSWORD)).toBe(true);
  });

  it('creates one account when the same form is submitted from two tabs at the same moment', async () => {
    const invite = await issue({ maxUses: 3 });
    const tabs = [await open(invite.token), await open(invite.token)].map((t) => t.page);
    const username = uniqueName('k');
    for (const tab of tabs) {
      await tab.fill('#username', username);
      await tab.fill('#password', PASSWORD);
      await tab.fill('#confirm', PASSWORD);
    }
    const responses = await Promise.all(
      tabs.map(async (tab) => {
        const [response] = await Promise.all([
          tab.waitForResponse((r) => r.request().method() === 'POST' && r.request().resourceType() === 'document'),
          tab.click('#submit'),
        ]);
        return response.status();
      })
    );
    expect(responses).toEqual([200, 200]);
    for (const tab of tabs) await expect(tab.locator('#jid').innerText()).resolves.toBe(`${username}@localhost`);
    await screenshot(tabs[1] as Page, 'parallel-submit-success');

    const shown = await adminShow(invite.id);
    expect(shown.uses).toBe(1);
    expect(shown.redemptions.map((r) => r.jid)).toEqual([`${username}@localhost`]);
    expect(await canLogin(`${username}@localhost`, PASSWORD)).toBe(true);
  });

  it('works with JavaScript disabled', async () => {
    const invite = await issue({});
    const { page, response } = await open(invite.token, { javaScriptEnabled: false });
    expect(response.status()).toBe(200);
    const username = uniqueName('n');
    expect((await submit(page, { username, password: PASSWORD })).status()).toBe(200);
    await expect(page.locator('#jid').innerText()).resolves.toBe(`${username}@localhost`);
    await screenshot(page, 'no-javascript-created');
    expect(await canLogin(`${username}@localhost`, PASSWORD)).toBe(true);
  });

  it('looks right on a desktop screen', async () => {
    const invite = await issue({ maxUses: 5 });
    const { page } = await open(invite.token, { viewport: { width: 1280, height: 900 } });
    await expect(page.locator('p.muted', { hasText: 'valid until' }).innerText()).resolves.toContain('5 more times');
    // Content stays in a readable column.
    const box = await page.locator('main').boundingBox();
    expect(box!.width).toBeLessThanOrEqual(660);
    await screenshot(page, 'account-invite-desktop');
  });
});

describe('Landing page: contact and reset invites', SLOW, () => {
  it('a contact invite names the inviter, and registering makes both contacts', async () => {
    const admin = prosodyAdmin();
    try {
      const inviter = await existingAccount();
      const invite = await issue({ type: 'contact', inviter });
      const { page, response } = await open(invite.token);
      expect(response.status()).toBe(200);
      await expect(page.locator('h1').innerText()).resolves.toBe(`${inviter} wants to chat with you`);
      await expect(page.locator('#open-invite').innerText()).resolves.toContain(`Add ${inviter}`);
      await expect(page.locator('#open-invite').getAttribute('href')).resolves.toBe(invite.uri);
      expect(invite.uri).toMatch(/\?roster;preauth=[A-Za-z0-9_-]{24};ibr=y$/);
      await screenshot(page, 'contact-invite');

      const username = uniqueName('c');
      expect((await submit(page, { username, password: PASSWORD })).status()).toBe(200);
      await expect(page.locator('ol.steps').innerText()).resolves.toContain(`${inviter} is already in your contacts`);
      await screenshot(page, 'contact-created');

      const jid = `${username}@localhost`;
      expect(await canLogin(jid, PASSWORD)).toBe(true);
      expect((await admin.getRoster(jid)).find((i) => i.jid === inviter)?.subscription).toBe('both');
      expect((await admin.getRoster(inviter)).find((i) => i.jid === jid)?.subscription).toBe('both');
    } finally {
      await admin.close();
    }
  });

  it('a reset invite sets a new password: the new one logs in, the old one no longer does', async () => {
    const jid = await existingAccount('old password 123');
    const username = jid.split('@')[0] as string;
    const invite = await issue({ type: 'reset', username });
    const { page, response } = await open(invite.token);
    expect(response.status()).toBe(200);
    await expect(page.locator('h1').innerText()).resolves.toBe('Set a new password');
    await expect(page.locator('section.card').first().innerText()).resolves.toContain(jid);
    // The account is fixed by the invite: no username field.
    await expect(page.locator('#username').count()).resolves.toBe(0);
    await screenshot(page, 'reset-invite');

    const done = await submit(page, { password: 'brand new secret 456' });
    expect(done.status()).toBe(200);
    await expect(page.locator('h1').innerText()).resolves.toBe('Your password has been changed');
    await screenshot(page, 'reset-done');
    expect(await canLogin(jid, 'brand new secret 456')).toBe(true);
    expect(await canLogin(jid, 'old password 123')).toBe(false);
  });
});

describe('Landing page: invites that cannot be used', SLOW, () => {
  const expectStatusPage = async (token: string, status: number, kind: string, heading: RegExp, shot: string) => {
    const { page, response } = await open(token);
    const h1 = await page.locator('h1').innerText();
    expect({ status: response.status(), h1 }).toEqual({ status, h1: expect.stringMatching(heading) });
    await expect(page.locator('#status').getAttribute('data-status')).resolves.toBe(kind);
    // Nothing to redeem: no form, no invite URI.
    await expect(page.locator('form').count()).resolves.toBe(0);
    expect(response.headers().link).toBeUndefined();
    expect(response.headers()['content-security-policy']).toContain("default-src 'none'");
    await screenshot(page, shot);
    return page;
  };

  it('an expired invite shows the expired page with 410, and its form is refused', async () => {
    const invite = await issue({ ttlSeconds: 60 });
    // Open the form while the invite is live, then let it expire.
    const { page } = await open(invite.token);
    await expireInvite(invite.id);
    await expectStatusPage(invite.token, 410, 'token-expired', /expired/, 'status-expired');
    const late = await submit(page, { username: uniqueName('x'), password: PASSWORD });
    expect(late.status()).toBe(410);
    await expect(page.locator('#status').getAttribute('data-status')).resolves.toBe('token-expired');
  });

  it('a revoked invite shows the withdrawn page with 410', async () => {
    const invite = await issue({});
    const revoked = await setupCall('DELETE', `/invites/${invite.id}`);
    expect(revoked.status).toBe(204);
    await expectStatusPage(invite.token, 410, 'token-revoked', /withdrawn/, 'status-revoked');
  });

  it('a used invite shows the used page with 410', async () => {
    const invite = await issue({});
    const res = await setupCall('POST', `/invites/${invite.token}/redeem`, { username: uniqueName('x'), password: PASSWORD }, false);
    expect(res.status).toBe(201);
    await expectStatusPage(invite.token, 410, 'token-used', /already been used/, 'status-used');
  });

  it('an unknown or malformed token shows the not-found page with 404', async () => {
    await expectStatusPage(randomBytes(18).toString('base64url'), 404, 'token-invalid', /not found/, 'status-unknown');
    await expectStatusPage('not-a-token', 404, 'token-invalid', /not found/, 'status-malformed');
  });
});
