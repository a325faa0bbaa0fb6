import type { Config } from './config.js';
import { InviteError } from './errors.js';
import { looksLikeAscii } from './skeleton.js';
import { NodeprepError, nodeprep } from './stringprep.js';

/**
 * A localpart is only as good as the JID the XMPP server makes of it: Prosody
 * and ejabberd store accounts under nodeprep(name) (./stringprep.ts), which
 * maps more than lowercase does (`straße` -> `strasse`, `σοφός` -> `σοφόσ`,
 * `alice` + U+FE0F -> `alice`). Every localpart we lock, record and report
 * comes out of normalizeLocalpart, and its result is always a fixed point of
 * nodeprep: the server creates exactly that JID, byte for byte.
 *
 * Three rules, by what the name is for:
 * - `ascii` (new usernames, the default): a-z, 0-9 and `. _ - +`; A-Z is
 *   lowercased, as nodeprep does. Nothing else, so no look-alikes at all.
 * - `unicode` (new usernames with USERNAME_UNICODE=true): letters, marks and
 *   digits of any script plus `. _ - +`, refused when nodeprep would change
 *   them beyond lowercasing and composing accents (the user would get an
 *   account under a name they did not type), or when they mix scripts the
 *   way look-alikes do (`pаypal` with a Cyrillic `а`).
 * - `existing` (the localpart of a JID that may already exist: inviters,
 *   admins): nodeprep's canonical form of whatever was typed, as the server
 *   itself would resolve it.
 */
export type LocalpartRule = 'ascii' | 'unicode' | 'existing';

export const LOCALPART_MAX_BYTES = 1023;

export interface LocalpartPolicy {
  /** Product policy bound in characters, below the RFC's 1023 bytes. */
  maxLength: number;
  /** `ascii` when absent. */
  rule?: LocalpartRule;
}

/** The policy for new usernames under this configuration. */
export const usernamePolicy = (config: Pick<Config, 'usernameMaxLength'> & Partial<Pick<Config, 'usernameUnicode'>>): LocalpartPolicy => ({
  maxLength: config.usernameMaxLength,
  rule: config.usernameUnicode ? 'unicode' : 'ascii',
});

const ASCII_NAME = /^[a-z0-9._+-]+$/;
const UNICODE_NAME = /^[\p{L}\p{M}\p{N}._+-]+$/u;
const LEADING_MARK = /^\p{M}/u;

const invalid = (message: string) => new InviteError('username-invalid', message);

/**
 * Scripts of the letters, marks and digits Unicode 3.2 has (nodeprep refuses
 * later ones); test/unit/usernames.test.ts checks that none is missing.
 * Common (digits, punctuation) and Inherited (combining marks) go with any.
 */
const SCRIPTS = [
  'Latin',
  'Greek',
  'Coptic',
  'Cyrillic',
  'Armenian',
  'Hebrew',
  'Arabic',
  'Syriac',
  'Thaana',
  'Devanagari',
  'Bengali',
  'Gurmukhi',
  'Gujarati',
  'Oriya',
  'Tamil',
  'Telugu',
  'Kannada',
  'Malayalam',
  'Sinhala',
  'Thai',
  'Lao',
  'Tibetan',
  'Myanmar',
  'Georgian',
  'Hangul',
  'Ethiopic',
  'Cherokee',
  'Canadian_Aboriginal',
  'Ogham',
  'Runic',
  'Khmer',
  'Mongolian',
  'Hiragana',
  'Katakana',
  'Bopomofo',
  'Han',
  'Yi',
  'Old_Italic',
  'Gothic',
  'Deseret',
  'Tagalog',
  'Hanunoo',
  'Buhid',
  'Tagbanwa',
  'Braille',
].map((name) => ({ name, re: new RegExp(`^\\p{Script=${name}}$`, 'u') }));
const NEUTRAL = /^[\p{Script=Common}\p{Script=Inherited}]$/u;

/**
 * Scripts that are written together (UTS #39's "highly restrictive" level):
 * Japanese mixes kanji and kana, Chinese and Korean mix with Latin. Any other
 * mix, such as Latin with Cyrillic or Greek, is how look-alikes are made.
 */
const WRITTEN_TOGETHER = [
  ['Latin', 'Han', 'Hiragana', 'Katakana'],
  ['Latin', 'Han', 'Bopomofo'],
  ['Latin', 'Han', 'Hangul'],
];

/** The scripts of a name, without Common and Inherited; `undefined` for a character of none we know. */
export const scriptsOf = (name: string): Set<string> | undefined => {
  const scripts = new Set<string>();
  for (const ch of name) {
    if (NEUTRAL.test(ch)) continue;
    const script = SCRIPTS.find((s) => s.re.test(ch));
    if (!script) return undefined;
    scripts.add(script.name);
  }
  return scripts;
};

const mixesScripts = (name: string): boolean => {
  const scripts = scriptsOf(name);
  if (!scripts) return true;
  return scripts.size > 1 && !WRITTEN_TOGETHER.some((allowed) => [...scripts].every((s) => allowed.includes(s)));
};

const prep = (raw: string): string => {
  try {
    return nodeprep(raw);
  } catch (e) {
    if (e instanceof NodeprepError) throw invalid(`username ${e.message}`);
    throw e;
  }
};

/** What a user means by typing capitals: each character lowercased on its own (no final-sigma rule), accents composed. */
const lowercased = (raw: string) =>
  [...raw]
    .map((ch) => ch.toLowerCase())
    .join('')
    .normalize('NFC');

const byRule = (raw: string, rule: LocalpartRule): string => {
  switch (rule) {
    case 'ascii': {
      const name = raw.replace(/[A-Z]+/g, (s) => s.toLowerCase());
      if (!ASCII_NAME.test(name)) {
        throw invalid('username may contain only letters a-z, digits 0-9 and . _ - +');
      }
      return name;
    }
    case 'unicode': {
      const name = prep(raw);
      if (name !== lowercased(raw)) {
        throw invalid(`username would become ${JSON.stringify(name)} on the XMPP server; type it that way if that is the name you want`);
      }
      if (!UNICODE_NAME.test(name) || LEADING_MARK.test(name)) {
        throw invalid('username may contain only letters, combining marks, digits and . _ - +, and must not start with a mark');
      }
      if (mixesScripts(name)) {
        throw invalid('username mixes scripts (for instance Latin and Cyrillic letters), which makes look-alike names');
      }
      // One script can spell a look-alike too (`аре` in Cyrillic, `adminı`): its TR39 skeleton is an ASCII name's.
      if (looksLikeAscii(name)) {
        throw invalid('username looks like a name in plain Latin letters (its letters are look-alikes); type that name instead');
      }
      return name;
    }
    case 'existing':
      return prep(raw);
  }
};

export const normalizeLocalpart = (raw: unknown, policy: LocalpartPolicy = { maxLength: 64 }): string => {
  if (typeof raw !== 'string' || raw.length === 0) {
    throw invalid('username must be a non-empty string');
  }
  // Bounds the work below. Refusing is safe: only a string made mostly of
  // characters nodeprep deletes could still fit in 1023 bytes once stored.
  if (raw.length > 4 * LOCALPART_MAX_BYTES) {
    throw invalid('username is too long');
  }
  const name = byRule(raw, policy.rule ?? 'ascii');
  if (name.length === 0) throw invalid('username is empty once invisible characters are removed');
  if ([...name].length > policy.maxLength || Buffer.byteLength(name, 'utf8') > LOCALPART_MAX_BYTES) {
    throw invalid(`username must be at most ${policy.maxLength} characters`);
  }
  // The promise of this module, checked rather than assumed: the server stores this name unchanged.
  if (nodeprep(name) !== name) throw invalid('username is not in the form the XMPP server stores');
  return name;
};

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Domains we serve are ASCII DNS names (IDNs in their A-label form). */
export const normalizeDomain = (raw: unknown): string => {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 253) {
    throw new InviteError('jid-invalid', 'domain must be a DNS name');
  }
  const domain = raw.toLowerCase().replace(/\.$/, '');
  if (!domain.split('.').every((label) => LABEL.test(label))) {
    throw new InviteError('jid-invalid', 'domain must be a DNS name');
  }
  return domain;
};

export interface BareJid {
  local: string;
  domain: string;
}

/**
 * A bare JID `local@domain` (no resource), in the form the server uses. It
 * names an account that may exist, made by any means: its localpart follows
 * the `existing` rule, not the policy for new usernames.
 */
export const parseBareJid = (raw: unknown): BareJid => {
  if (typeof raw !== 'string' || raw.length > 3071) {
    throw new InviteError('jid-invalid', 'expected a bare JID such as user@example.com');
  }
  const at = raw.indexOf('@');
  if (at <= 0 || raw.includes('/')) {
    throw new InviteError('jid-invalid', 'expected a bare JID such as user@example.com');
  }
  let local: string;
  try {
    local = normalizeLocalpart(raw.slice(0, at), { maxLength: LOCALPART_MAX_BYTES, rule: 'existing' });
  } catch (e) {
    throw new InviteError('jid-invalid', `invalid JID localpart: ${(e as Error).message}`);
  }
  return { local, domain: normalizeDomain(raw.slice(at + 1)) };
};

export const formatJid = (jid: BareJid): string => `${jid.local}@${jid.domain}`;
