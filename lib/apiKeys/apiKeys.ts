import { randomBytes } from 'node:crypto';
import { InviteError } from '../errors.js';
import { normalizeDomain } from '../jid.js';
import type { Actor } from '../invites/actor.js';
import type { ApiKey, ApiKeyStore } from '../ports/ApiKeyStore.js';
import type { Clock } from '../ports/Clock.js';
import { sha256 } from '../token.js';

const KEY_PREFIX = 'xik_';
const KEY_PATTERN = /^xik_[A-Za-z0-9_-]{43}$/;

/** 256-bit secret; shown once, stored as its SHA-256. */
export const generateApiKeySecret = (): string => `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;

/** Stores a new key (a given `secret`, or a fresh one) and returns it once. */
export const createApiKey = async (
  { store, clock }: { store: ApiKeyStore; clock: Clock },
  input: { name: string; domains: string[]; maxLiveInvites?: number; secret?: string }
) => {
  const secret = input.secret ?? generateApiKeySecret();
  if (!KEY_PATTERN.test(secret)) {
    throw new InviteError('invalid-request', 'an API key looks like xik_ followed by 43 base64url characters');
  }
  if (!input.name || input.name.length > 100) throw new InviteError('invalid-request', 'name must be 1-100 characters');
  const domains = input.domains.map((d) => (d === '*' ? '*' : normalizeDomain(d)));
  if (domains.length === 0) throw new InviteError('invalid-request', 'a key needs at least one domain, or *');
  const apiKey: ApiKey = {
    id: sha256(secret),
    name: input.name,
    domains,
    createdAt: clock.now(),
    maxLiveInvites: input.maxLiveInvites,
  };
  await store.put(apiKey);
  return { apiKey, secret };
};


/** `Authorization: Bearer <key>` -> the actor, or `unauthorized`. */
export const authenticate = async (store: ApiKeyStore, authorization: string | undefined): Promise<Actor> => {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match || !KEY_PATTERN.test(match[1] as string)) {
    throw new InviteError('unauthorized', 'send an API key as Authorization: Bearer <key>');
  }
  const apiKey = await store.get(sha256(match[1] as string));
  if (!apiKey || apiKey.revokedAt !== undefined) {
    throw new InviteError('unauthorized', 'unknown or revoked API key');
  }
  return {
    source: `api-key:${apiKey.id.slice(0, 12)}`,
    domains: apiKey.domains,
    admin: apiKey.maxLiveInvites === undefined,
    maxLiveInvites: apiKey.maxLiveInvites,
  };
};
