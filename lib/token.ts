import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 144 bits from the CSPRNG: 24 base64url characters, like Prosody's id.medium(). */
export const TOKEN_BYTES = 18;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{24}$/;

export const generateToken = (): string => randomBytes(TOKEN_BYTES).toString('base64url');

/** SHA-256, base64url: ids of invites (of their tokens), of API keys, of event ids. */
export const sha256 = (value: string): string => createHash('sha256').update(value, 'utf8').digest('base64url');

/** The public id of an invite is the SHA-256 of its token: the table never holds the token. */
export const hashToken = sha256;

/** Cheap shape check so malformed tokens never reach the store. */
export const isWellFormedToken = (token: unknown): token is string => typeof token === 'string' && TOKEN_PATTERN.test(token);

const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;
export const isWellFormedId = (id: unknown): id is string => typeof id === 'string' && ID_PATTERN.test(id);

/** Constant-time comparison (of secrets, signatures, fingerprints). */
export const safeEqual = (a: string, b: string): boolean => {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
};
