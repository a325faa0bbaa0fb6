import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The admin console's session (#21): a cookie `v1.<key id>.<expiry>.<mac>`,
 * HMAC-SHA256 signed with the console session key. It carries the API key's
 * id (the SHA-256 of its secret, never the secret), which every request
 * checks again against the key store: revoking the key ends the session.
 * The CSRF token of the forms is an HMAC of the cookie: a page can only
 * post with the token of the session it was rendered for.
 */
export const SESSION_COOKIE = 'console_session';
export const SESSION_SECONDS = 12 * 3600;

export interface ConsoleSession {
  keyId: string;
  expiresAt: number;
  /** The raw cookie value, from which the CSRF token derives. */
  value: string;
}

const COOKIE_PATTERN = /^v1\.([A-Za-z0-9_-]{43})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

const mac = (key: string, purpose: string, data: string): string =>
  createHmac('sha256', key).update(`${purpose}\n${data}`, 'utf8').digest('base64url');

const sameText = (a: string, b: string): boolean => {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
};

/** A new session cookie value for this key id, valid SESSION_SECONDS from `now` (epoch seconds). */
export const signSession = (key: string, keyId: string, now: number, seconds = SESSION_SECONDS): string => {
  const body = `v1.${keyId}.${now + seconds}`;
  return `${body}.${mac(key, 'session', body)}`;
};

/** The session this cookie value holds, or undefined when malformed, forged or expired. */
export const verifySession = (key: string, value: string | undefined, now: number): ConsoleSession | undefined => {
  const match = COOKIE_PATTERN.exec(value ?? '');
  if (!match || value === undefined) return undefined;
  const body = value.slice(0, value.lastIndexOf('.'));
  if (!sameText(mac(key, 'session', body), match[3] as string)) return undefined;
  const expiresAt = Number(match[2]);
  if (expiresAt <= now) return undefined;
  return { keyId: match[1] as string, expiresAt, value };
};

export const csrfToken = (key: string, session: ConsoleSession): string => mac(key, 'csrf', session.value);

export const csrfValid = (key: string, session: ConsoleSession, token: unknown): boolean =>
  typeof token === 'string' && sameText(csrfToken(key, session), token);

/** Set-Cookie: only over https, never to scripts, never on cross-site requests, only below /admin. */
export const sessionCookie = (value: string, maxAge = SESSION_SECONDS): string =>
  `${SESSION_COOKIE}=${value}; Path=/admin; Max-Age=${maxAge}; HttpOnly; Secure; SameSite=Strict`;

export const clearedSessionCookie = (): string => sessionCookie('', 0);

/** The session cookie's value from API Gateway's `cookies` list or a `Cookie` header. */
export const readSessionCookie = (cookies: readonly string[] | undefined, header: string | undefined): string | undefined => {
  const all = [...(cookies ?? []), ...(header ?? '').split(';')];
  for (const raw of all) {
    const c = raw.trim();
    if (c.startsWith(`${SESSION_COOKIE}=`)) return c.slice(SESSION_COOKIE.length + 1);
  }
  return undefined;
};

/**
 * Invite ids are the SHA-256 of their tokens, and list cursors hold them:
 * the console's pages never show either. Its links and forms carry them
 * sealed (AES-256-GCM under a key derived from the session), useless
 * outside the session that rendered them.
 */
const sealKey = (key: string, session: ConsoleSession): Buffer =>
  createHmac('sha256', key).update(`seal\n${session.value}`, 'utf8').digest();

export const seal = (key: string, session: ConsoleSession, text: string): string => {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealKey(key, session), iv);
  const data = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64url');
};

/** The sealed text, or undefined when the handle is not one of this session's. */
export const unseal = (key: string, session: ConsoleSession, handle: unknown): string | undefined => {
  if (typeof handle !== 'string' || !/^[A-Za-z0-9_-]{38,2000}$/.test(handle)) return undefined;
  const raw = Buffer.from(handle, 'base64url');
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealKey(key, session), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
};
