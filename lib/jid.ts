import { InviteError } from './errors.js';

/**
 * Localparts follow RFC 7622 (PRECIS UsernameCaseMapped) closely enough for
 * account creation: width-mapped (NFKC), lowercased, NFC, then checked against
 * the characters RFC 7622 forbids and against Unicode tricks (controls,
 * invisible format characters, private use, unassigned code points, spaces).
 * XMPP servers accept some of these or misparse them (`sl/ash@host` becomes
 * host `sl` on Prosody), so we validate before anything reaches the server.
 */
const FORBIDDEN = /["&'/:<>@\\]/u;
const INVISIBLE_OR_CONTROL = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Z}]/u;
const ALLOWED = /^[\p{L}\p{M}\p{N}._\-+=!$%*~^|#(){}[\]?,;`]+$/u;
const LEADING_MARK = /^\p{M}/u;

export const LOCALPART_MAX_BYTES = 1023;

export interface LocalpartPolicy {
  /** Product policy bound, below the RFC's 1023 bytes. */
  maxLength: number;
}

export const normalizeLocalpart = (
  raw: unknown,
  policy: LocalpartPolicy = { maxLength: 64 }
): string => {
  if (typeof raw !== 'string' || raw.length === 0) {
    throw new InviteError('username-invalid', 'username must be a non-empty string');
  }
  if (raw.length > 4 * LOCALPART_MAX_BYTES) {
    throw new InviteError('username-invalid', 'username is too long');
  }
  const mapped = raw.normalize('NFKC').toLowerCase().normalize('NFC');
  if (INVISIBLE_OR_CONTROL.test(mapped)) {
    throw new InviteError('username-invalid', 'username contains spaces, control or invisible characters');
  }
  if (FORBIDDEN.test(mapped)) {
    throw new InviteError('username-invalid', 'username must not contain any of " & \' / : < > @ \\');
  }
  if (!ALLOWED.test(mapped) || LEADING_MARK.test(mapped)) {
    throw new InviteError('username-invalid', 'username contains characters not allowed in a JID localpart');
  }
  const length = [...mapped].length;
  if (length > policy.maxLength || Buffer.byteLength(mapped, 'utf8') > LOCALPART_MAX_BYTES) {
    throw new InviteError('username-invalid', `username must be at most ${policy.maxLength} characters`);
  }
  return mapped;
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

/** A bare JID `local@domain` (no resource), normalized. */
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
    local = normalizeLocalpart(raw.slice(0, at), { maxLength: 1023 });
  } catch (e) {
    throw new InviteError('jid-invalid', `invalid JID localpart: ${(e as Error).message}`);
  }
  return { local, domain: normalizeDomain(raw.slice(at + 1)) };
};

export const formatJid = (jid: BareJid): string => `${jid.local}@${jid.domain}`;
