/**
 * Webhook signatures, Stripe's scheme, both ways (signup forms in, invite
 * events out): `X-Signature: t=<unix seconds>,v1=<hex>` where v1 is
 * HMAC-SHA256(secret, `${t}.${rawBody}`). The timestamp is signed, so a
 * captured request cannot be replayed with a fresh one; a receiver rejects
 * timestamps outside its tolerance.
 */
import { createHmac } from 'node:crypto';
import { InviteError } from '../errors.js';
import { safeEqual } from '../token.js';

const DEFAULT_TOLERANCE_SECONDS = 300;

const HEX_SHA256 = /^[0-9a-f]{64}$/;

export type Body = string | Uint8Array;

export const computeSignature = (secret: string, timestamp: number, body: Body): string =>
  createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(body).digest('hex');

/** The header value for a body sent at `timestamp` (epoch seconds). */
export const signatureHeader = (secret: string, timestamp: number, body: Body): string =>
  `t=${timestamp},v1=${computeSignature(secret, timestamp, body)}`;

export interface ParsedSignature {
  timestamp: number;
  /** Every v1 value: a sender rotating its secret may send one per secret. */
  signatures: string[];
}

/** Parses `t=...,v1=...[,v1=...]`; unknown schemes (v0, ...) are ignored. Undefined if malformed. */
export const parseSignatureHeader = (header: string | undefined): ParsedSignature | undefined => {
  if (typeof header !== 'string' || header.length === 0 || header.length > 1024) return undefined;
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 1) return undefined;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !/^\d{1,12}$/.test(value)) return undefined;
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (!HEX_SHA256.test(value)) return undefined;
      signatures.push(value);
    }
  }
  if (timestamp === undefined || signatures.length === 0) return undefined;
  return { timestamp, signatures };
};

export interface VerifyInput {
  header: string | undefined;
  body: Body;
  /** Accepted secrets (the current one, and the previous one while rotating). */
  secrets: readonly string[];
  /** Epoch seconds. */
  now: number;
  toleranceSeconds?: number;
}

/**
 * Throws `signature-invalid` (missing, malformed, or no secret matches) or
 * `signature-stale` (authentic but older or newer than the tolerance). The
 * HMAC is checked first, so only an authentic request learns it is stale.
 * Returns the signed timestamp.
 */
export const verifySignature = ({ header, body, secrets, now, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS }: VerifyInput): number => {
  const parsed = parseSignatureHeader(header);
  if (!parsed) {
    throw new InviteError('signature-invalid', 'missing or malformed X-Signature header (expected t=<unix>,v1=<hex>)');
  }
  let matched = false;
  for (const secret of secrets) {
    const expected = computeSignature(secret, parsed.timestamp, body);
    // No early exit: every candidate is compared, in constant time.
    for (const candidate of parsed.signatures) matched = safeEqual(expected, candidate) || matched;
  }
  if (!matched) throw new InviteError('signature-invalid', 'the signature does not match the body');
  if (Math.abs(now - parsed.timestamp) > toleranceSeconds) {
    throw new InviteError('signature-stale', `the signature timestamp is more than ${toleranceSeconds} s away from now`);
  }
  return parsed.timestamp;
};
