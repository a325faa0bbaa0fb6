import { randomBytes } from 'node:crypto';
import { InviteError } from '../errors.js';
import { formatJid, normalizeDomain, parseBareJid } from '../jid.js';
import type { Actor } from '../invites/actor.js';
import type { ApiKey, ApiKeyKind, ApiKeyStore } from '../ports/ApiKeyStore.js';
import type { Clock } from '../ports/Clock.js';
import { sha256 } from '../token.js';

const KEY_PREFIX = 'xik_';
const KEY_PATTERN = /^xik_[A-Za-z0-9_-]{43}$/;

/** Does this look like a key this service issues (`xik_` + 43 base64url characters)? */
export const isApiKeySecret = (value: string): boolean => KEY_PATTERN.test(value);

/** 256-bit secret; shown once, stored as its SHA-256. */
export const generateApiKeySecret = (): string => `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;

export interface CreateApiKeyInput {
  name: string;
  domains: string[];
  kind?: ApiKeyKind;
  maxLiveInvites?: number;
  /** Grant reset invites (never implied). */
  allowReset?: boolean;
  /** Inviters the key may name: `any` or bare JIDs of its domains; default `any` for admin keys, none otherwise. */
  inviters?: 'any' | string[];
  secret?: string;
}

/** Stores a new key (a given `secret`, or a fresh one) and returns it once. */
export const createApiKey = async ({ store, clock }: { store: ApiKeyStore; clock: Clock }, input: CreateApiKeyInput) => {
  const secret = input.secret ?? generateApiKeySecret();
  if (!KEY_PATTERN.test(secret)) {
    throw new InviteError('invalid-request', 'an API key looks like xik_ followed by 43 base64url characters');
  }
  if (!input.name || input.name.length > 100) throw new InviteError('invalid-request', 'name must be 1-100 characters');
  const kind = input.kind ?? 'api';
  const domains = input.domains.map((d) => (d === '*' ? '*' : normalizeDomain(d)));
  if (domains.length === 0) throw new InviteError('invalid-request', 'a key needs at least one domain, or *');
  if (kind === 'xmpp-server') {
    // A server's module acts for its own users only: no wildcard, no admin grants.
    if (domains.includes('*')) throw new InviteError('invalid-request', 'an xmpp-server key names the domains its server hosts');
    if (input.allowReset || input.inviters !== undefined || input.maxLiveInvites !== undefined) {
      throw new InviteError('invalid-request', 'an xmpp-server key takes no reset, inviter or quota grants');
    }
  }
  if (input.maxLiveInvites !== undefined && (!Number.isInteger(input.maxLiveInvites) || input.maxLiveInvites < 1)) {
    throw new InviteError('invalid-request', 'maxLiveInvites must be a positive integer');
  }
  let inviters: 'any' | string[] | undefined;
  if (input.inviters === 'any') {
    inviters = 'any';
  } else if (input.inviters !== undefined) {
    inviters = input.inviters.map((raw) => {
      const jid = parseBareJid(raw);
      if (!domains.includes('*') && !domains.includes(jid.domain)) {
        throw new InviteError('invalid-request', `inviter ${raw} is not on one of the key's domains`);
      }
      return formatJid(jid);
    });
  }
  const apiKey: ApiKey = {
    id: sha256(secret),
    name: input.name,
    kind,
    domains,
    createdAt: clock.now(),
    maxLiveInvites: input.maxLiveInvites,
    allowReset: input.allowReset === true,
    inviters,
  };
  await store.put(apiKey);
  return { apiKey, secret };
};

/**
 * `Authorization: Bearer <key>` -> the actor, or `unauthorized`. A key of
 * another kind than the route serves is `forbidden`: an XMPP server's key can
 * never issue, list or revoke, and an API key can never speak for a server.
 */
export const authenticate = async (store: ApiKeyStore, authorization: string | undefined, kind: ApiKeyKind = 'api'): Promise<Actor> => {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match || !KEY_PATTERN.test(match[1] as string)) {
    throw new InviteError('unauthorized', 'send an API key as Authorization: Bearer <key>');
  }
  return authenticateKeyId(store, sha256(match[1] as string), kind);
};

/**
 * The same check by the key's id (the SHA-256 of its secret): the admin
 * console's session carries the id and re-checks the key on every request,
 * so revoking the key ends the session.
 */
export const authenticateKeyId = async (store: ApiKeyStore, id: string, kind: ApiKeyKind = 'api'): Promise<Actor> => {
  const apiKey = await store.get(id);
  if (!apiKey || apiKey.revokedAt !== undefined) {
    throw new InviteError('unauthorized', 'unknown or revoked API key');
  }
  if (apiKey.kind !== kind) {
    throw new InviteError('forbidden', kind === 'api' ? 'this key is for an XMPP server module' : 'this route needs an xmpp-server key');
  }
  const admin = kind === 'api' && apiKey.maxLiveInvites === undefined;
  return {
    source: keySource(apiKey),
    keyName: apiKey.name,
    domains: apiKey.domains,
    admin,
    maxLiveInvites: apiKey.maxLiveInvites,
    allowReset: apiKey.allowReset === true,
    inviters: apiKey.inviters ?? (admin ? 'any' : []),
  };
};

/** What invites a key issues record as their `source`: `api-key:<id prefix>` or `xmpp-server:<id prefix>`. */
export const keySource = (key: Pick<ApiKey, 'id' | 'kind'>): string =>
  `${key.kind === 'api' ? 'api-key' : 'xmpp-server'}:${key.id.slice(0, 12)}`;
