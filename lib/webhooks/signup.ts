import { createHmac, randomBytes } from 'node:crypto';
import { InviteError } from '../errors.js';
import { formatJid, parseBareJid } from '../jid.js';
import type { Actor } from '../invites/actor.js';
import type { Invite } from '../invites/Invite.js';
import { issueInvite, type IssueDeps, type IssueInput } from '../invites/issue.js';
import { DEFAULT_SIGNUP_SOURCE_LIVE_INVITES } from '../invites/limits.js';
import { type IssuedView, issuedView } from '../invites/views.js';
import type { SignupEventStore } from '../ports/SignupEventStore.js';
import { TOKEN_BYTES, hashToken, sha256 } from '../token.js';
import type { SignupSource } from './settings.js';
import { verifySignature } from './signature.js';

export interface SignupDeps extends Omit<IssueDeps, 'newToken'> {
  sources: Readonly<Record<string, SignupSource>>;
  /** The source's signing secret. */
  secret: (source: string) => Promise<string>;
  events: SignupEventStore;
  toleranceSeconds: number;
}

export interface SignupRequest {
  source: string | undefined;
  /** The X-Signature header. */
  signature: string | undefined;
  contentType: string | undefined;
  /** The body exactly as received: the signature covers these bytes. */
  body: Uint8Array;
}

export interface SignupResult {
  /** True when this answered a delivery already processed. */
  replayed: boolean;
  view: IssuedView;
}

/** Dedupe records outlive the invite, and last at least this long (senders retry for days). */
const DEDUPE_MIN_SECONDS = 30 * 24 * 3600;
const EVENT_ID = /^[^\p{Cc}\p{Cf}]{1,200}$/u;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,253}$/;

/** The invite token for a delivery: HMAC(secret, context) cut to the token's 144 bits. */
export const deriveInviteToken = (secret: string, source: string, eventId: string): string =>
  createHmac('sha256', secret)
    .update(`xmpp-invites/signup-invite-token/v1\n${source}\n${eventId}`, 'utf8')
    .digest()
    .subarray(0, TOKEN_BYTES)
    .toString('base64url');

type Payload = Record<string, unknown>;

/** JSON object or form fields; anything else is the sender's mistake (400/415). */
export const parsePayload = (body: Uint8Array, contentType: string | undefined): Payload => {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const isJson = type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
  const isForm = type === 'application/x-www-form-urlencoded';
  if (!isJson && !isForm) {
    throw new InviteError('unsupported-media-type', 'send application/json or application/x-www-form-urlencoded');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new InviteError('payload-invalid', 'the body is not UTF-8');
  }
  if (isForm) {
    const fields: Payload = Object.create(null);
    for (const [key, value] of new URLSearchParams(text)) {
      if (!Object.hasOwn(fields, key)) fields[key] = value;
    }
    return fields;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InviteError('payload-invalid', 'the body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InviteError('payload-invalid', 'the body must be a JSON object');
  }
  return parsed as Payload;
};

/** A field by name, or by dotted path into nested JSON objects (own properties only). */
export const readField = (payload: Payload, path: string): unknown => {
  if (Object.hasOwn(payload, path)) return payload[path];
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, part)) return undefined;
    value = (value as Payload)[part];
  }
  return value;
};

const optionalString = (payload: Payload, path: string | undefined, name: string, max: number): string | undefined => {
  if (path === undefined) return undefined;
  const value = readField(payload, path);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || value.length > max) {
    throw new InviteError('payload-invalid', `${path} (${name}) must be a string of at most ${max} characters`);
  }
  return value.trim() || undefined;
};

export const readEventId = (payload: Payload, path: string): string => {
  const raw = readField(payload, path);
  const id = typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : raw;
  if (typeof id !== 'string' || !EVENT_ID.test(id)) {
    throw new InviteError('payload-invalid', `${path} (the event id) must be a string of 1-200 printable characters`, {
      details: { field: path },
    });
  }
  return id;
};

/** The form's fields, through the source's mapping, as an issue request. */
export const toIssueInput = (source: SignupSource, payload: Payload): IssueInput => {
  const { fields } = source;
  const username = optionalString(payload, fields.username, 'username', 1023);
  const email = optionalString(payload, fields.email, 'email', 320);
  if (email !== undefined && !EMAIL.test(email)) throw new InviteError('payload-invalid', `${fields.email} is not an email address`);
  const name = optionalString(payload, fields.name, 'name', 200);
  const note = optionalString(payload, fields.note, 'note', 800);
  const lines = [note, name && `name: ${name}`, email && `email: ${email}`].filter((l): l is string => Boolean(l));
  return {
    type: source.type,
    domain: source.domain,
    inviter: source.inviter,
    username,
    maxUses: source.maxUses,
    ttlSeconds: source.ttlSeconds,
    groups: source.groups,
    roles: source.roles,
    note: lines.length > 0 ? lines.join('\n') : undefined,
  };
};

/** The actor a source's deliveries issue as: never an admin, bounded by the source's own live-invite cap (default 100). */
export const webhookActor = (name: string, source: SignupSource, defaultDomain: string): Actor => ({
  source: `webhook:${name}`,
  domains: [source.domain ?? defaultDomain],
  // Not an admin: no unlimited invites, quotas apply, no resets; the one
  // inviter the operator configured for this source.
  admin: false,
  allowReset: false,
  inviters: source.inviter ? [formatJid(parseBareJid(source.inviter))] : [],
  // A form anyone can fill in: never unbounded, even when the operator set no cap.
  maxLiveInvites: source.maxLiveInvites ?? DEFAULT_SIGNUP_SOURCE_LIVE_INVITES,
});

const UNKNOWN_SOURCE_SECRET = randomBytes(32).toString('base64url');

/**
 * A signed signup form delivery becomes an invite, once.
 *
 * Idempotency without storing tokens: the invite's token is derived from the
 * source's secret and the delivery's event id, so a retry recomputes the same
 * token, hence the same invite id (its SHA-256): the store's conditional put
 * cannot make a second invite, and the replay answers the first one, token
 * included. A dedupe record (source, event id) -> invite id, kept at least as
 * long as the invite, covers what the derivation alone does not: a retry after
 * the secret was rotated (it would derive another token) or after the invite
 * was removed. Such a retry gets `event-duplicate`, never a new invite.
 */
export const handleSignup = async (deps: SignupDeps, request: SignupRequest): Promise<SignupResult> => {
  const { store, clock, config } = deps;
  const name = request.source ?? '';
  const source = Object.hasOwn(deps.sources, name) ? deps.sources[name] : undefined;

  // Authenticity first, on the raw bytes, before anything reads the body. An
  // unknown source fails the same check against a secret nobody has, so
  // strangers cannot tell which source names exist.
  const secret = source ? await deps.secret(name) : UNKNOWN_SOURCE_SECRET;
  verifySignature({
    header: request.signature,
    body: request.body,
    secrets: [secret],
    now: clock.now(),
    toleranceSeconds: deps.toleranceSeconds,
  });
  if (!source) throw new InviteError('signature-invalid', 'the signature does not match the body');

  const payload = parsePayload(request.body, request.contentType);
  const eventId = readEventId(payload, source.fields.eventId);
  const input = toIssueInput(source, payload);

  const token = deriveInviteToken(secret, name, eventId);
  const id = hashToken(token);
  const eventKey = sha256(eventId);

  const replay = async (inviteId: string): Promise<SignupResult> => {
    const invite = inviteId === id ? await store.get(id) : undefined;
    if (!invite) {
      throw new InviteError('event-duplicate', 'this event was already processed; its invite cannot be shown again', {
        details: { inviteId },
      });
    }
    return { replayed: true, view: issuedView(invite, token, config.baseUrl) };
  };

  const seen = await deps.events.get(name, eventKey, clock.now());
  if (seen) return replay(seen.inviteId);

  let invite: Invite;
  try {
    ({ invite } = await issueInvite({ ...deps, newToken: () => token }, webhookActor(name, source, config.defaultDomain), input));
  } catch (e) {
    // A parallel delivery of the same event (or one that died before its
    // dedupe record) already made this very invite: answer it.
    const twin = await store.get(id);
    if (!twin) throw e;
    await remember(deps, name, eventKey, twin);
    return { replayed: true, view: issuedView(twin, token, config.baseUrl) };
  }
  await remember(deps, name, eventKey, invite);
  return { replayed: false, view: issuedView(invite, token, config.baseUrl) };
};

const remember = async (deps: SignupDeps, source: string, eventKey: string, invite: Invite) => {
  const now = deps.clock.now();
  await deps.events.remember(
    { source, eventKey, inviteId: invite.id, createdAt: now, expiresAt: Math.max(invite.expiresAt, now + DEDUPE_MIN_SECONDS) },
    now
  );
};
