import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { loadConfig } from '../../lib/config.js';
import type { InviteError } from '../../lib/errors.js';
import { inviteStatus, usesLeft, type Invite } from '../../lib/invites/Invite.js';
import { checkPassword, fingerprintMatches, passwordFingerprint } from '../../lib/invites/password.js';
import { inviteUri, landingUrl } from '../../lib/invites/uris.js';
import { normalizeDomain, normalizeLocalpart, parseBareJid } from '../../lib/jid.js';
import { generateToken, hashToken, isWellFormedId, isWellFormedToken } from '../../lib/token.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as InviteError).code;
  }
  return undefined;
};

describe('Module: token', () => {
  it('makes 24-character base64url tokens with 144 bits of entropy, all different', () => {
    const tokens = new Set(Array.from({ length: 1000 }, generateToken));
    expect(tokens.size).toBe(1000);
    for (const t of tokens) {
      expect(isWellFormedToken(t)).toBe(true);
      expect(Buffer.from(t, 'base64url')).toHaveLength(18);
    }
  });

  it('hashes a token to a 43-character id that does not contain it', () => {
    const token = generateToken();
    const id = hashToken(token);
    expect(isWellFormedId(id)).toBe(true);
    expect(id).not.toContain(token);
    expect(hashToken(token)).toBe(id);
  });

  it('rejects malformed tokens before any lookup', () => {
    for (const t of ['', 'short', 'A'.repeat(25), `${'A'.repeat(23)}/`, 42, null, `${'A'.repeat(23)}\u0000`]) {
      expect(isWellFormedToken(t)).toBe(false);
    }
  });
});

describe('Module: jid', () => {
  // The full username rules (ASCII default, Unicode setting, nodeprep) are in usernames.test.ts.
  it('lowercases ASCII localparts and, with the Unicode rule, composes accents', () => {
    expect(normalizeLocalpart('Juliet')).toBe('juliet');
    expect(normalizeLocalpart('o.brien-2_x+y')).toBe('o.brien-2_x+y');
    expect(normalizeLocalpart('Ame\u0301lie', { maxLength: 64, rule: 'unicode' })).toBe('amélie');
    // Width-mapping is nodeprep's, not the user's: refused rather than silently renamed.
    expect(codeOf(() => normalizeLocalpart('ｊｕｌｉｅｔ'))).toBe('username-invalid');
    expect(codeOf(() => normalizeLocalpart('ｊｕｌｉｅｔ', { maxLength: 64, rule: 'unicode' }))).toBe('username-invalid');
  });

  it.each([
    ['empty', ''],
    ['a space', 'ro meo'],
    ['a non-breaking space', 'ro\u00a0meo'],
    ['@', 'a@b'],
    ['/', 'sl/ash'],
    ['"', 'o"b'],
    ['&', 'a&b'],
    ["'", "o'b"],
    ['<', '<x'],
    ['>', 'x>'],
    [':', 'a:b'],
    ['NUL', 'a\u0000b'],
    ['a control character', 'a\u0007b'],
    ['a zero-width joiner', 'a\u200db'],
    ['a right-to-left override', 'a\u202eb'],
    ['a private-use character', 'a\ue000b'],
    ['a leading combining mark', '\u0301abc'],
    ['65 characters', 'a'.repeat(65)],
    ['a number', 42],
  ])('rejects a localpart with %s', (_name, value) => {
    expect(codeOf(() => normalizeLocalpart(value))).toBe('username-invalid');
  });

  it('parses bare JIDs and refuses full JIDs and garbage', () => {
    expect(parseBareJid('Romeo@Example.COM')).toEqual({ local: 'romeo', domain: 'example.com' });
    for (const bad of [
      'romeo',
      '@example.com',
      'romeo@example.com/phone',
      'ro meo@example.com',
      'romeo@exa mple.com',
      'romeo@-bad.example',
      '',
    ]) {
      expect(codeOf(() => parseBareJid(bad))).toBe('jid-invalid');
    }
    expect(normalizeDomain('Example.COM.')).toBe('example.com');
  });
});

describe('Module: uris', () => {
  const token = 'abcDEF123_-xyzABC456789A';
  it('follows XEP-0401 and XEP-0379', () => {
    expect(inviteUri({ type: 'account', domain: 'example.com' }, token)).toBe(`xmpp:example.com?register;preauth=${token}`);
    expect(inviteUri({ type: 'account', domain: 'example.com', username: 'juliet' }, token)).toBe(
      `xmpp:juliet@example.com?register;preauth=${token}`
    );
    expect(inviteUri({ type: 'contact', domain: 'example.com', inviter: 'romeo@example.com' }, token)).toBe(
      `xmpp:romeo@example.com?roster;preauth=${token};ibr=y`
    );
  });

  it('percent-encodes what is not allowed in the URI', () => {
    expect(inviteUri({ type: 'account', domain: 'example.com', username: 'a#b?c' }, 'x;y=z')).toBe(
      'xmpp:a%23b%3Fc@example.com?register;preauth=x%3By%3Dz'
    );
    expect(inviteUri({ type: 'account', domain: 'example.com', username: 'amélie' }, token)).toBe(
      `xmpp:amélie@example.com?register;preauth=${token}`
    );
  });

  it('builds the landing URL', () => {
    expect(landingUrl('https://invites.example.com', token)).toBe(`https://invites.example.com/i/${token}`);
  });
});

describe('Function: inviteStatus', () => {
  const base: Invite = {
    id: 'x',
    type: 'account',
    domain: 'example.com',
    maxUses: 1,
    uses: 0,
    pending: 0,
    expiresAt: 1000,
    createdAt: 0,
    groups: [],
    roles: [],
    source: 'test',
  };
  it('treats an invite as expired from its expiresAt on, whatever TTL has not deleted yet', () => {
    expect(inviteStatus(base, 999)).toBe('valid');
    expect(inviteStatus(base, 1000)).toBe('expired');
  });
  it('orders revoked before expired before used', () => {
    expect(inviteStatus({ ...base, uses: 1 }, 10)).toBe('used');
    expect(inviteStatus({ ...base, uses: 1 }, 2000)).toBe('expired');
    expect(inviteStatus({ ...base, uses: 1, revokedAt: 5 }, 2000)).toBe('revoked');
  });
  it('never uses up unlimited invites', () => {
    expect(inviteStatus({ ...base, maxUses: null, uses: 10 ** 6 }, 10)).toBe('valid');
    expect(usesLeft({ ...base, maxUses: null })).toBeNull();
    expect(usesLeft({ ...base, maxUses: 3, uses: 1 })).toBe(2);
  });
});

describe('Module: password', () => {
  it('enforces the policy', () => {
    const policy = { minLength: 8 };
    expect(checkPassword('correct horse', 'juliet', policy)).toBe('correct horse');
    expect(codeOf(() => checkPassword('short', 'juliet', policy))).toBe('password-weak');
    expect(codeOf(() => checkPassword('i am JULIET!', 'juliet', policy))).toBe('password-weak');
    expect(codeOf(() => checkPassword('aaaaaaaaaaaa', 'juliet', policy))).toBe('password-weak');
    expect(codeOf(() => checkPassword('abc\u0000defghi', 'juliet', policy))).toBe('password-weak');
    expect(codeOf(() => checkPassword(12345678, 'juliet', policy))).toBe('password-weak');
    expect(codeOf(() => checkPassword(`${'x'.repeat(1025)}yz`, 'juliet', policy))).toBe('password-weak');
  });
  it('fingerprints a pending password with a salted HMAC under a key that is not in the table', () => {
    const key = 'k'.repeat(32);
    const fp = passwordFingerprint(key, 'correct horse');
    const [salt, hash] = fp.split(':');
    expect(fp).not.toContain('correct horse');
    expect(passwordFingerprint(key, 'correct horse')).not.toBe(fp);
    expect(fingerprintMatches(key, 'correct horse', salt, hash)).toBe(true);
    expect(fingerprintMatches(key, 'correct horsf', salt, hash)).toBe(false);
    expect(fingerprintMatches(key, 'correct horse', undefined, hash)).toBe(false);
    // Without the key, the stored value cannot be checked against a guess: a plain salted hash no longer matches.
    const plain = createHash('sha256')
      .update(salt as string)
      .update('correct horse')
      .digest('base64url');
    expect(hash).not.toBe(plain);
    expect(fingerprintMatches('another key of 32 characters....', 'correct horse', salt, hash)).toBe(false);
  });

  it('refuses passwords an XML stream cannot carry, and a configured minimum below the floor', () => {
    for (const bad of [
      'pass\uFFFFword1',
      'pass\uFFFEword1',
      'pass\uFDD0word1',
      'pass\u{10FFFF}word1',
      'pass\uD800word1',
      'pass\uDC00word1',
    ]) {
      expect(
        codeOf(() => checkPassword(bad, 'juliet', { minLength: 8 })),
        JSON.stringify(bad)
      ).toBe('password-weak');
    }
    expect(checkPassword('pass\u{1F600}word1', 'juliet', { minLength: 8 })).toBe('pass\u{1F600}word1');
    expect(codeOf(() => checkPassword('abcdefg', 'juliet', { minLength: 1 }))).toBe('password-weak');
    expect(() => loadConfig({ PASSWORD_MIN_LENGTH: '4' })).toThrow(/PASSWORD_MIN_LENGTH/);
  });
});
