import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { SESSION_COOKIE, signSession } from '../../lib/web/console/session.js';
import { sha256 } from '../../lib/token.js';
import { stack } from './stack.js';

/**
 * What the console's test files share: HTTP against the shared stack's
 * console (every body kept, so a file can check that none holds a secret),
 * sessions, the CSRF token of a page, and the wait for the cold function.
 */
export const VIEWPORTS = [
  ['phone', { width: 390, height: 844 }],
  ['desktop', { width: 1280, height: 900 }],
] as const;

/** `get` and `post` (a form; a field given as a list is sent once per value) that push every body they read into `seen`. */
export const consoleHttp = (seen: string[]) => {
  const read = async (res: Response) => {
    const text = await res.text();
    seen.push(text);
    return { res, text };
  };
  return {
    get: async (path: string, cookie?: string) =>
      read(await fetch(`${stack().baseUrl}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} })),
    post: async (path: string, form: Record<string, string | string[]>, cookie?: string) => {
      const body = new URLSearchParams();
      for (const [k, v] of Object.entries(form)) for (const one of [v].flat()) body.append(k, one);
      return read(
        await fetch(`${stack().baseUrl}${path}`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
          body: body.toString(),
        })
      );
    },
  };
};

export const csrfOf = (text: string) => /name="csrf" value="([^"]+)"/.exec(text)?.[1] as string;

/** A session for this API key, signed as the console signs them (what a sign-in would set), without spending a sign-in. */
export const sessionValue = (secret: string) =>
  signSession(stack().env.CONSOLE_SESSION_KEY as string, sha256(secret), Math.floor(Date.now() / 1000));

/** The `Cookie` header of such a session. */
export const sessionCookie = (secret: string) => `${SESSION_COOKIE}=${sessionValue(secret)}`;

/** Signs in through the sign-in form; returns the `Cookie` header value. */
export const signInWithForm = async (key = stack().apiKey) => {
  const res = await fetch(`${stack().baseUrl}/admin/session`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ key }).toString(),
  });
  expect(res.status).toBe(303);
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  expect(setCookie).toBeDefined();
  return (setCookie as string).split(';')[0] as string;
};

/** Gives a browser page the session of this key, as the sign-in would have set it. */
export const addSession = async (page: Page, secret: string) => {
  await page.context().addCookies([
    {
      name: SESSION_COOKIE,
      value: sessionValue(secret),
      url: `${stack().baseUrl}/admin`,
      httpOnly: true,
      secure: true,
      sameSite: 'Strict',
    },
  ]);
};

/** The console's function comes up cold under serverless-offline: wait until it answers. */
export const waitForConsole = async (timeoutMs = 150_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${stack().baseUrl}/admin`).catch(() => undefined);
    if (res?.status === 200 && (await res.text()).includes('Admin API key')) return;
    if (Date.now() > deadline) throw new Error(`GET /admin did not come up: ${res?.status}`);
  }
};

/** Scripts a console page may not have: anything but the one hash-pinned console script. */
export const OTHER_SCRIPTS = 'script:not([src^="/admin/console.js?v="][integrity])';
