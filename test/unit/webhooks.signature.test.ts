import { describe, expect, it } from 'vitest';
import { InviteError } from '../../lib/errors.js';
import { computeSignature, parseSignatureHeader, signatureHeader, verifySignature } from '../../lib/webhooks/signature.js';

// Cross-checked with: printf '%s' "1700000000.$BODY" | openssl dgst -sha256 -hmac "$SECRET"
const SECRET = 'whsec_test_secret_0123456789';
const BODY = '{"id":"evt_1","email":"juliet@example.org"}';
const T = 1_700_000_000;
const OPENSSL_HEX = 'cbd472e7f8c9ba91a1fa0b29ad98c19cc249fb1c242f2de2c5a4a883740bc110';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e instanceof InviteError ? e.code : `not an InviteError: ${String(e)}`;
  }
};

describe('Function: computeSignature', () => {
  it('is HMAC-SHA256 over `${t}.${body}`, as openssl computes it', () => {
    expect(computeSignature(SECRET, T, BODY)).toBe(OPENSSL_HEX);
  });

  it('signs bytes and strings alike', () => {
    expect(computeSignature(SECRET, T, Buffer.from(BODY, 'utf8'))).toBe(OPENSSL_HEX);
  });

  it('builds the header t=<unix>,v1=<hex>', () => {
    expect(signatureHeader(SECRET, T, BODY)).toBe(`t=${T},v1=${OPENSSL_HEX}`);
  });
});

describe('Function: parseSignatureHeader', () => {
  it('reads t and every v1, ignoring other schemes and spaces', () => {
    const other = 'a'.repeat(64);
    expect(parseSignatureHeader(`t=${T}, v1=${OPENSSL_HEX}, v0=zzz, v1=${other}`)).toEqual({
      timestamp: T,
      signatures: [OPENSSL_HEX, other],
    });
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['no timestamp', `v1=${OPENSSL_HEX}`],
    ['no v1', `t=${T}`],
    ['two timestamps', `t=${T},t=${T},v1=${OPENSSL_HEX}`],
    ['non-numeric timestamp', `t=12a,v1=${OPENSSL_HEX}`],
    ['short signature', `t=${T},v1=abcd`],
    ['uppercase hex', `t=${T},v1=${OPENSSL_HEX.toUpperCase()}`],
    ['garbage part', `t=${T},v1=${OPENSSL_HEX},nonsense`],
    ['too long', `t=${T},v1=${OPENSSL_HEX},${'x=1,'.repeat(300)}`],
  ])('rejects a header that is %s', (_what, header) => {
    expect(parseSignatureHeader(header)).toBeUndefined();
  });
});

describe('Function: verifySignature', () => {
  const header = `t=${T},v1=${OPENSSL_HEX}`;

  it('accepts a valid signature within the tolerance and returns its timestamp', () => {
    expect(verifySignature({ header, body: BODY, secrets: [SECRET], now: T + 299 })).toBe(T);
    expect(verifySignature({ header, body: BODY, secrets: [SECRET], now: T - 300 })).toBe(T);
  });

  it('accepts any of several secrets (rotation) and any of several v1 values', () => {
    expect(verifySignature({ header, body: BODY, secrets: ['old-secret-0000000000', SECRET], now: T })).toBe(T);
    const twoSigs = `t=${T},v1=${'0'.repeat(64)},v1=${OPENSSL_HEX}`;
    expect(verifySignature({ header: twoSigs, body: BODY, secrets: [SECRET], now: T })).toBe(T);
  });

  it('rejects a tampered body, a wrong secret, a shifted timestamp or a malformed header as signature-invalid', () => {
    expect(codeOf(() => verifySignature({ header, body: `${BODY} `, secrets: [SECRET], now: T }))).toBe('signature-invalid');
    expect(codeOf(() => verifySignature({ header, body: BODY, secrets: ['another-secret-000000'], now: T }))).toBe('signature-invalid');
    // The timestamp is signed: moving it breaks the signature, it does not make it fresh.
    expect(codeOf(() => verifySignature({ header: `t=${T + 1},v1=${OPENSSL_HEX}`, body: BODY, secrets: [SECRET], now: T }))).toBe(
      'signature-invalid'
    );
    expect(codeOf(() => verifySignature({ header: undefined, body: BODY, secrets: [SECRET], now: T }))).toBe('signature-invalid');
    expect(codeOf(() => verifySignature({ header, body: BODY, secrets: [], now: T }))).toBe('signature-invalid');
  });

  it('rejects an authentic signature older or newer than the tolerance as signature-stale', () => {
    expect(codeOf(() => verifySignature({ header, body: BODY, secrets: [SECRET], now: T + 301 }))).toBe('signature-stale');
    expect(codeOf(() => verifySignature({ header, body: BODY, secrets: [SECRET], now: T - 301 }))).toBe('signature-stale');
    expect(codeOf(() => verifySignature({ header, body: BODY, secrets: [SECRET], now: T + 61, toleranceSeconds: 60 }))).toBe(
      'signature-stale'
    );
  });

  it('checks authenticity before freshness: a forged old request is invalid, not stale', () => {
    const forged = `t=${T},v1=${'f'.repeat(64)}`;
    expect(codeOf(() => verifySignature({ header: forged, body: BODY, secrets: [SECRET], now: T + 10_000 }))).toBe('signature-invalid');
  });
});
