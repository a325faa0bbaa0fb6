import { createHmac, randomBytes } from 'node:crypto';
import { InviteError } from '../errors.js';
import { safeEqual } from '../token.js';

export interface PasswordPolicy {
  minLength: number;
}

const MAX_PASSWORD_LENGTH = 1024;
/** No configuration may ask for less. */
export const PASSWORD_MIN_LENGTH_FLOOR = 8;

/**
 * What an XML stream cannot carry (XML 1.0 `Char`), besides controls: lone
 * surrogates and noncharacters (U+FFFE, U+FFFF, U+FDD0..U+FDEF, ...). The
 * server's parser closes the admin stream on them, so they are refused here.
 */
const NOT_XML = /[\p{Cs}\p{Noncharacter_Code_Point}]/u;

/**
 * Servers accept weak passwords (Prosody even creates an account with an
 * empty one that can never log in), so the policy lives here.
 */
export const checkPassword = (password: unknown, username: string, policy: PasswordPolicy): string => {
  if (typeof password !== 'string') throw new InviteError('password-weak', 'password must be a string');
  // Control characters break SASL PLAIN (NUL) and are never intended.
  if (/\p{Cc}/u.test(password)) throw new InviteError('password-weak', 'password contains control characters');
  if (NOT_XML.test(password)) {
    throw new InviteError('password-weak', 'password contains characters that are not text (noncharacters or lone surrogates)');
  }
  const length = [...password].length;
  const minLength = Math.max(policy.minLength, PASSWORD_MIN_LENGTH_FLOOR);
  if (length < minLength) {
    throw new InviteError('password-weak', `password must be at least ${minLength} characters`);
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
 * Common passwords, as the zxcvbn-ts project ships them (about 49,000 from
 * breach corpora, most common first; `@zxcvbn-ts/language-common`). Loaded on
 * the first check of a container, never at start: the list is some 400 kB of
 * compressed text that takes tens of milliseconds to unpack, which a cold
 * start of a route that never sees a password should not pay. The list's own
 * module, not the package's index: that one also brings (and unpacks) a
 * diceware list and keyboard graphs, 52 kB of bundle nothing here reads.
 */
let commonPasswords: Promise<ReadonlySet<string>> | undefined;
const loadCommonPasswords = () =>
  (commonPasswords ??= import('@zxcvbn-ts/language-common/dist/passwords.json.mjs').then(({ default: passwords }) => new Set(passwords)));

/** Starts loading the list in the background (a function that checks passwords calls it at start, like the XMPP warm-up). */
export const warmUpPasswordList = (): void => {
  setImmediate(() => loadCommonPasswords().catch(() => undefined));
};

/** What people add to a common word to satisfy a rule: `dragon2024!` is `dragon`. */
const DECORATION = /[\d\p{P}\p{S}\s]+$/u;

/**
 * A password from the common-password list, ignoring case, alone or with
 * digits and symbols appended (`Password1`, `12345678`, `dragon2024!`).
 */
export const isCommonPassword = async (password: string): Promise<boolean> => {
  const common = await loadCommonPasswords();
  const lower = password.toLowerCase();
  const stem = lower.replace(DECORATION, '');
  return common.has(lower) || (stem.length >= 4 && common.has(stem));
};

/** The check of checkPassword that needs the list: `password-weak` for a common password. */
export const assertUncommonPassword = async (password: string): Promise<void> => {
  if (await isCommonPassword(password)) {
    throw new InviteError('password-weak', 'password is one of the most common passwords; choose another');
  }
};

/**
 * Identifies the password of a pending redemption so that only a retry of
 * the same request may resume it. An HMAC under a secret key that is not in
 * the table (`CLAIM_KEY`, or the SSM parameter `CLAIM_KEY_PARAMETER`), salted
 * per claim, and kept once the claim completes so that only a retry with the
 * same password is answered as a replay: the table, its stream and its
 * backups hold nothing a password can be guessed against without the key.
 */
export const passwordFingerprint = (key: string, password: string, salt = randomBytes(16).toString('base64url')): string =>
  `${salt}:${createHmac('sha256', key).update('xmpp-invites/claim-fingerprint/v2\n').update(salt).update('\n').update(password, 'utf8').digest('base64url')}`;

export const fingerprintMatches = (key: string, password: string, salt: string | undefined, hash: string | undefined): boolean =>
  salt !== undefined && hash !== undefined && safeEqual(passwordFingerprint(key, password, salt), `${salt}:${hash}`);
