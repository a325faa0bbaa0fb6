import { describe, expect, it } from 'vitest';
import { InviteError } from '../../lib/errors.js';
import { isWellFormedToken } from '../../lib/token.js';
import { deriveInviteToken, parsePayload, readEventId, readField, toIssueInput } from '../../lib/webhooks/signup.js';
import { loadConfig } from '../../lib/config.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e instanceof InviteError ? e.code : (e as Error).message;
  }
};
const utf8 = (s: string) => Buffer.from(s, 'utf8');

describe('Function: deriveInviteToken', () => {
  it('is a well-formed 24-character token, the same for the same (secret, source, event)', () => {
    const token = deriveInviteToken('secret-0123456789abcdef', 'form', 'evt_1');
    expect(isWellFormedToken(token)).toBe(true);
    expect(deriveInviteToken('secret-0123456789abcdef', 'form', 'evt_1')).toBe(token);
  });

  it('differs with the secret, the source or the event id', () => {
    const token = deriveInviteToken('secret-0123456789abcdef', 'form', 'evt_1');
    expect(deriveInviteToken('secret-0123456789abcdeX', 'form', 'evt_1')).not.toBe(token);
    expect(deriveInviteToken('secret-0123456789abcdef', 'form2', 'evt_1')).not.toBe(token);
    expect(deriveInviteToken('secret-0123456789abcdef', 'form', 'evt_2')).not.toBe(token);
  });
});

describe('Function: parsePayload', () => {
  it('parses JSON objects and form fields (first value of a repeated key wins)', () => {
    expect(parsePayload(utf8('{"id":"a","n":{"x":1}}'), 'application/json; charset=utf-8')).toEqual({ id: 'a', n: { x: 1 } });
    expect({ ...parsePayload(utf8('id=a&name=J%C3%BCrgen+X&id=b'), 'application/x-www-form-urlencoded') }).toEqual({
      id: 'a',
      name: 'Jürgen X',
    });
  });

  it.each([
    ['{"id":', 'application/json', 'payload-invalid'],
    ['[1,2]', 'application/json', 'payload-invalid'],
    ['"text"', 'application/json', 'payload-invalid'],
    ['id=a', 'text/plain', 'unsupported-media-type'],
    ['id=a', undefined, 'unsupported-media-type'],
  ])('rejects %j as %s with %s', (body, type, code) => {
    expect(codeOf(() => parsePayload(utf8(body), type))).toBe(code);
  });

  it('rejects bytes that are not UTF-8', () => {
    expect(codeOf(() => parsePayload(Buffer.from([0x7b, 0xff, 0x7d]), 'application/json'))).toBe('payload-invalid');
  });
});

describe('Function: readField / readEventId', () => {
  it('reads flat keys, dotted paths, and keys that contain dots', () => {
    const payload = { a: { b: { c: 'deep' } }, 'x.y': 'flat' };
    expect(readField(payload, 'a.b.c')).toBe('deep');
    expect(readField(payload, 'x.y')).toBe('flat');
    expect(readField(payload, 'a.missing')).toBeUndefined();
  });

  it('never walks into inherited properties', () => {
    expect(readField(JSON.parse('{"a":{}}'), 'a.constructor')).toBeUndefined();
    expect(readField({}, '__proto__')).toBeUndefined();
  });

  it('accepts string and integer event ids, and rejects the rest', () => {
    expect(readEventId({ id: 'evt_1' }, 'id')).toBe('evt_1');
    expect(readEventId({ id: 42 }, 'id')).toBe('42');
    for (const id of [undefined, '', 'x'.repeat(201), 'a\u0000b', 1.5, {}, ['a']]) {
      expect(codeOf(() => readEventId({ id }, 'id'))).toBe('payload-invalid');
    }
  });
});

describe('Function: toIssueInput', () => {
  const [source] = Object.values(
    loadConfig({
      SIGNUP_SOURCES: JSON.stringify({
        f: {
          secret: 'secret-0123456789abcdef',
          domain: 'Example.COM',
          inviter: 'admin@example.com',
          type: 'contact',
          fields: { eventId: 'id', username: 'u', email: 'e', name: 'n', note: 'm' },
          groups: ['G'],
          ttlSeconds: 600,
          maxUses: 2,
        },
      }),
    }).signupSources
  );

  it('maps fields through the source and adds its fixed settings', () => {
    expect(toIssueInput(source!, { u: 'juliet', e: 'j@example.org', n: 'Juliet', m: 'hello' })).toEqual({
      type: 'contact',
      domain: 'example.com',
      inviter: 'admin@example.com',
      username: 'juliet',
      maxUses: 2,
      ttlSeconds: 600,
      groups: ['G'],
      roles: [],
      note: 'hello\nname: Juliet\nemail: j@example.org',
    });
  });

  it('treats empty fields as absent and rejects wrong types and non-addresses', () => {
    expect(toIssueInput(source!, { u: '', e: null })).toMatchObject({ username: undefined, note: undefined });
    expect(codeOf(() => toIssueInput(source!, { u: 7 }))).toBe('payload-invalid');
    expect(codeOf(() => toIssueInput(source!, { e: 'nope' }))).toBe('payload-invalid');
  });
});
