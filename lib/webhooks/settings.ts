/**
 * Webhook configuration, parsed from the JSON that lib/config.ts reads from
 * the environment (`SIGNUP_SOURCES`, `WEBHOOK_ENDPOINTS`). Checked at load:
 * a typo fails the deployment's first call loudly, not one signup later.
 */
import { InviteTypes, type InviteType } from '../invites/Invite.js';
import { normalizeDomain } from '../jid.js';

/** A secret given directly (local development) or an SSM SecureString name (cloud). */
export interface SecretRef {
  secret?: string;
  secretParameter?: string;
}

/** Where a source's form puts each value; dotted paths reach into nested JSON. */
export interface SignupFields {
  /** The delivery's id: the same id twice answers the same invite. Default `eventId`. */
  eventId: string;
  username?: string;
  note?: string;
  email?: string;
  name?: string;
}

export interface SignupSource extends SecretRef {
  /** Domain the invites are for; default the deployment's default domain. */
  domain?: string;
  type: InviteType;
  /** Bare JID the new accounts get roster pre-approval with. */
  inviter?: string;
  fields: SignupFields;
  groups: string[];
  roles: string[];
  ttlSeconds?: number;
  maxUses: number;
  /** Live invites this source may hold at once; undefined = no quota. */
  maxLiveInvites?: number;
}

export const WebhookEventTypes = ['invite.created', 'invite.redeemed', 'invite.revoked', 'invite.expired'] as const;
export type WebhookEventType = (typeof WebhookEventTypes)[number];

export interface WebhookEndpoint extends SecretRef {
  name: string;
  url: string;
  events: WebhookEventType[];
  /** Only events of invites for these domains; undefined = all. */
  domains?: string[];
}

export interface WebhookDelivery {
  endpoints: WebhookEndpoint[];
  /** Attempts per event and endpoint, the first included. */
  maxAttempts: number;
  /** First retry delay; doubles each attempt, with jitter, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Per-request timeout. */
  timeoutMs: number;
  /** SQS queue for failed deliveries; without it they go to the table (local/dev). */
  deadLetterQueueUrl?: string;
}

const fail = (name: string, message: string): never => {
  throw new Error(`configuration ${name}: ${message}`);
};

const parseObject = (name: string, json: string | undefined): Record<string, Record<string, unknown>> => {
  if (!json) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return fail(name, 'must be a JSON object keyed by name');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return fail(name, 'must be a JSON object keyed by name');
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(key)) fail(name, `name ${JSON.stringify(key)} must be 1-64 of A-Z a-z 0-9 _ -`);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(name, `${key} must be an object`);
  }
  return parsed as Record<string, Record<string, unknown>>;
};

const checkKeys = (where: string, value: Record<string, unknown>, allowed: readonly string[]) => {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) fail(where, `unknown setting ${JSON.stringify(key)} (allowed: ${allowed.join(', ')})`);
  }
};

const secretRef = (where: string, value: Record<string, unknown>): SecretRef => {
  const { secret, secretParameter } = value;
  if (secret !== undefined && (typeof secret !== 'string' || secret.length < 16)) {
    fail(where, 'secret must be a string of at least 16 characters');
  }
  if (secretParameter !== undefined && (typeof secretParameter !== 'string' || !secretParameter.startsWith('/'))) {
    fail(where, 'secretParameter must be an SSM parameter name starting with /');
  }
  if (secret === undefined && secretParameter === undefined) fail(where, 'needs secret or secretParameter');
  return { secret: secret as string | undefined, secretParameter: secretParameter as string | undefined };
};

const strings = (where: string, value: unknown, max = 20): string[] => {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > max || !value.every((v) => typeof v === 'string' && v.length > 0)) {
    return fail(where, `must be a list of at most ${max} non-empty strings`);
  }
  return value as string[];
};

const positiveInt = (where: string, value: unknown): number | undefined => {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || (value as number) < 1) return fail(where, 'must be a positive integer');
  return value as number;
};

const FIELD_NAMES = ['eventId', 'username', 'note', 'email', 'name'] as const;
const FIELD_PATH = /^[A-Za-z0-9_\-[\]]{1,100}(\.[A-Za-z0-9_\-[\]]{1,100}){0,5}$/;

export const parseSignupSources = (json: string | undefined): Record<string, SignupSource> => {
  const sources: Record<string, SignupSource> = Object.create(null);
  for (const [name, value] of Object.entries(parseObject('SIGNUP_SOURCES', json))) {
    const where = `SIGNUP_SOURCES.${name}`;
    checkKeys(where, value, [
      'secret',
      'secretParameter',
      'domain',
      'type',
      'inviter',
      'fields',
      'groups',
      'roles',
      'ttlSeconds',
      'maxUses',
      'maxLiveInvites',
    ]);
    const rawFields = (value.fields ?? {}) as Record<string, unknown>;
    if (typeof rawFields !== 'object' || rawFields === null || Array.isArray(rawFields)) fail(where, 'fields must be an object');
    checkKeys(`${where}.fields`, rawFields, FIELD_NAMES);
    for (const [field, path] of Object.entries(rawFields)) {
      if (typeof path !== 'string' || !FIELD_PATH.test(path)) fail(`${where}.fields.${field}`, 'must be a field name or a dotted path');
    }
    const type = (value.type ?? 'account') as InviteType;
    if (!InviteTypes.includes(type) || type === 'reset') fail(where, 'type must be account or contact');
    if (value.inviter !== undefined && typeof value.inviter !== 'string') fail(where, 'inviter must be a bare JID');
    if (value.domain !== undefined && typeof value.domain !== 'string') fail(where, 'domain must be a string');
    // Webhook actors are not admins: an unlimited invite is never theirs to ask for.
    const maxUses = positiveInt(`${where}.maxUses`, value.maxUses) ?? 1;
    sources[name] = {
      ...secretRef(where, value),
      domain: value.domain === undefined ? undefined : normalizeDomain(value.domain),
      type,
      inviter: value.inviter as string | undefined,
      fields: { eventId: 'eventId', ...(rawFields as Partial<SignupFields>) },
      groups: strings(`${where}.groups`, value.groups),
      roles: strings(`${where}.roles`, value.roles),
      ttlSeconds: positiveInt(`${where}.ttlSeconds`, value.ttlSeconds),
      maxUses,
      maxLiveInvites: positiveInt(`${where}.maxLiveInvites`, value.maxLiveInvites),
    };
  }
  return sources;
};

export const parseWebhookEndpoints = (json: string | undefined): WebhookEndpoint[] =>
  Object.entries(parseObject('WEBHOOK_ENDPOINTS', json)).map(([name, value]) => {
    const where = `WEBHOOK_ENDPOINTS.${name}`;
    checkKeys(where, value, ['url', 'secret', 'secretParameter', 'events', 'domains']);
    let url: URL | undefined;
    try {
      url = new URL(String(value.url));
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) fail(where, 'url must be an http(s) URL');
    const events = value.events === undefined ? [...WebhookEventTypes] : strings(`${where}.events`, value.events);
    for (const e of events) {
      if (!(WebhookEventTypes as readonly string[]).includes(e)) fail(where, `unknown event ${JSON.stringify(e)}`);
    }
    return {
      name,
      url: String(value.url),
      ...secretRef(where, value),
      events: events as WebhookEventType[],
      domains: value.domains === undefined ? undefined : strings(`${where}.domains`, value.domains).map(normalizeDomain),
    };
  });
