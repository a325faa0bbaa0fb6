import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import {
  csrfToken,
  csrfValid,
  readSessionCookie,
  seal,
  sessionCookie,
  signSession,
  unseal,
  verifySession,
} from '../../lib/web/console/session.js';
import { CONSOLE_CONTENT_SECURITY_POLICY } from '../../lib/web/console/styles.js';
import { CONSOLE_JS, CONSOLE_JS_HASH, CONSOLE_JS_PATH } from '../../lib/web/console/script.js';

const KEY = 'k'.repeat(32);
const KEY_ID = 'A'.repeat(43);
const NOW = 1_800_000_000;

describe('console session cookie (lib/web/console/session.ts)', () => {
  it('round-trips a session for 12 hours, then refuses it', () => {
    const value = signSession(KEY, KEY_ID, NOW);
    expect(verifySession(KEY, value, NOW + 60)).toMatchObject({ keyId: KEY_ID, expiresAt: NOW + 12 * 3600 });
    expect(verifySession(KEY, value, NOW + 12 * 3600)).toBeUndefined();
  });

  it('refuses a cookie signed with another key, a changed key id or expiry, and garbage', () => {
    const value = signSession(KEY, KEY_ID, NOW);
    expect(verifySession('x'.repeat(32), value, NOW)).toBeUndefined();
    const [v, , exp, mac] = value.split('.');
    expect(verifySession(KEY, [v, 'B'.repeat(43), exp, mac].join('.'), NOW)).toBeUndefined();
    expect(verifySession(KEY, [v, KEY_ID, String(Number(exp) + 3600), mac].join('.'), NOW)).toBeUndefined();
    for (const bad of [undefined, '', 'v1', `${value}x`, value.replace('v1.', 'v2.')]) {
      expect(verifySession(KEY, bad, NOW)).toBeUndefined();
    }
  });

  it('derives the CSRF token from the session: another session or nothing is refused', () => {
    const a = verifySession(KEY, signSession(KEY, KEY_ID, NOW), NOW)!;
    const b = verifySession(KEY, signSession(KEY, KEY_ID, NOW + 1), NOW)!;
    expect(csrfValid(KEY, a, csrfToken(KEY, a))).toBe(true);
    expect(csrfValid(KEY, a, csrfToken(KEY, b))).toBe(false);
    expect(csrfValid(KEY, a, undefined)).toBe(false);
    expect(csrfValid(KEY, a, '')).toBe(false);
  });

  it('seals ids for one session only', () => {
    const a = verifySession(KEY, signSession(KEY, KEY_ID, NOW), NOW)!;
    const b = verifySession(KEY, signSession(KEY, KEY_ID, NOW + 1), NOW)!;
    const handle = seal(KEY, a, 'invite-id');
    expect(handle).not.toContain('invite-id');
    expect(unseal(KEY, a, handle)).toBe('invite-id');
    expect(unseal(KEY, b, handle)).toBeUndefined();
    expect(unseal(KEY, a, `${handle.slice(0, -2)}AA`)).toBeUndefined();
    expect(unseal(KEY, a, 42)).toBeUndefined();
  });

  it('sets the cookie HttpOnly, Secure, SameSite=Strict below /admin for 12 hours, and reads it back', () => {
    const cookie = sessionCookie('v');
    expect(cookie).toBe('console_session=v; Path=/admin; Max-Age=43200; HttpOnly; Secure; SameSite=Strict');
    expect(readSessionCookie(['a=b', 'console_session=xyz'], undefined)).toBe('xyz');
    expect(readSessionCookie(undefined, 'a=b; console_session=abc')).toBe('abc');
    expect(readSessionCookie(undefined, undefined)).toBeUndefined();
  });

  it('allows only the console script, by the hash of its content, and keeps Trusted Types required', () => {
    const directives = CONSOLE_CONTENT_SECURITY_POLICY.split('; ');
    expect(directives).toContain("default-src 'none'");
    const hash = `sha256-${createHash('sha256').update(CONSOLE_JS, 'utf8').digest('base64')}`;
    expect(CONSOLE_JS_HASH).toBe(hash);
    expect(directives.filter((d) => d.startsWith('script-src'))).toEqual([`script-src '${hash}'`]);
    expect(directives).toContain("require-trusted-types-for 'script'");
    expect(CONSOLE_CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-|'self'[^;]*script|strict-dynamic|data:|\*/);
    // The script builds no markup and evaluates no string (what Trusted Types would refuse).
    expect(CONSOLE_JS).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|Function\(|setTimeout\(['"`]/);
    // The page's tag names the same hash, and the path changes with the content.
    expect(CONSOLE_JS_PATH).toBe(`/admin/console.js?v=${createHash('sha256').update(CONSOLE_JS).digest('hex').slice(0, 16)}`);
  });

  it('reads the session key and sign-in limit from the environment', () => {
    expect(loadConfig({ CONSOLE_SESSION_KEY: KEY }).console).toEqual({ sessionKey: KEY, sessionKeyParameter: undefined, signInsPerIp: 10 });
    expect(() => loadConfig({ CONSOLE_SESSION_KEY: 'short' })).toThrow(/CONSOLE_SESSION_KEY/);
    expect(() => loadConfig({ SECRETS_PATH: '/x', CONSOLE_SESSION_KEY_PARAMETER: '/x/claims/k' })).toThrow(/\/x\/console\//);
    expect(loadConfig({ CONSOLE_SIGNINS_PER_IP: '3' }).console?.signInsPerIp).toBe(3);
  });
});
