import { createHash, randomBytes } from 'node:crypto';
import { InviteError } from '../errors.js';
import { safeEqual } from '../token.js';

export interface PasswordPolicy {
  minLength: number;
}

export const MAX_PASSWORD_LENGTH = 1024;

/**
 * Servers accept weak passwords (Prosody even creates an account with an
 * empty one that can never log in), so the policy lives here.
 */
export const checkPassword = (password: unknown, username: string, policy: PasswordPolicy): string => {
  if (typeof password !== 'string') throw new InviteError('password-weak', 'password must be a string');
  // Control characters break SASL PLAIN (NUL) and are never intended.
  if (/\p{Cc}/u.test(password)) throw new InviteError('password-weak', 'password contains control characters');
  const length = [...password].length;
  if (length < policy.minLength) {
    throw new InviteError('password-weak', `password must be at least ${policy.minLength} characters`);
  }
  if (length > MAX_PASSWORD_LENGTH) {
    throw new InviteError('password-weak', `password must be at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  if (username.length >= 3 && password.toLowerCase().includes(username.toLowerCase())) {
    throw new InviteError('password-weak', 'password must not contain the username');
  }
  if (new Set(password).size < 3) {
    throw new InviteError('password-weak', 'password must use more than two different characters');
  }
  return password;
};

/**
 * Identifies the password of a pending redemption so that only a retry of
 * the same request may resume it. Salted, and removed once the claim completes.
 */
export const passwordFingerprint = (password: string, salt = randomBytes(16).toString('base64url')): string =>
  `${salt}:${createHash('sha256').update(salt).update(password, 'utf8').digest('base64url')}`;

export const fingerprintMatches = (password: string, salt: string | undefined, hash: string | undefined): boolean =>
  salt !== undefined && hash !== undefined && safeEqual(passwordFingerprint(password, salt), `${salt}:${hash}`);
