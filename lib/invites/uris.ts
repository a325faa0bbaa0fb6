import type { Invite } from './Invite.js';

/**
 * XEP-0147 query components: the values are percent-encoded (RFC 3986); the
 * `;` and `=` delimiters are not. The token alphabet (base64url) needs no
 * escaping but we encode anyway so the function is correct for any input.
 */
const encodeQueryValue = (value: string): string =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** RFC 5122: the JID part of an xmpp: URI is an IRI path; escape what is not allowed there. */
const encodeJid = (jid: string): string =>
  jid
    .replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@\u00A0-\uFFFF]/gu, (c) =>
      [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')
    )
    .replace(/[?#/]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** What of an invite its URI says. */
export type UriFields = Pick<Invite, 'type' | 'domain' | 'inviter' | 'username'>;

/**
 * XEP-0401 / XEP-0379 invite URIs:
 * - account: `xmpp:DOMAIN?register;preauth=TOKEN` or `xmpp:USER@DOMAIN?register;preauth=TOKEN`
 * - contact: `xmpp:INVITER?roster;preauth=TOKEN;ibr=y` (registration allowed through us)
 * - reset:   `xmpp:USER@DOMAIN?register;preauth=TOKEN` (the client sets a new password)
 */
export const inviteUri = ({ type, domain, inviter, username }: UriFields, token: string): string => {
  const preauth = `preauth=${encodeQueryValue(token)}`;
  if (type === 'contact' && inviter) {
    return `xmpp:${encodeJid(inviter)}?roster;${preauth};ibr=y`;
  }
  const target = username ? `${username}@${domain}` : domain;
  return `xmpp:${encodeJid(target)}?register;${preauth}`;
};

export const landingUrl = (baseUrl: string, token: string): string => `${baseUrl}/i/${encodeURIComponent(token)}`;
