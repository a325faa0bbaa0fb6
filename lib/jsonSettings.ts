/**
 * The settings given as JSON: `XMPP_SERVERS`, `SIGNUP_SOURCES`,
 * `WEBHOOK_ENDPOINTS` and `INVITES_CLIENTS`. lib/config.ts hands each its raw
 * value; all four are read by one rule: JSON of the expected shape, every
 * entry an object with no field its reader does not know (a misspelt one
 * would otherwise be ignored until a request needed it), every value checked,
 * and any fault thrown as one line naming the variable, the entry and what is
 * wrong. `npm start` prints that line and stops; a Lambda container fails its
 * start.
 */
import { apiUrlProblem } from './adapters/xmpp/tlsPolicy.js';
import type { XmppServerConfig } from './adapters/xmpp/settings.js';
import { InviteTypes, type InviteType } from './invites/Invite.js';
import { normalizeDomain, parseBareJid } from './jid.js';
import { DEFAULT_CLIENTS, Platforms, type ClientApp, type Platform } from './web/clients.js';
import {
  type SecretRef,
  type SignupFields,
  type SignupSource,
  type WebhookEndpoint,
  type WebhookEventType,
  WebhookEventTypes,
  DefaultWebhookEventTypes,
} from './webhooks/settings.js';

type Json = Record<string, unknown>;

/** The one way a setting is refused: `configuration <where> <what is wrong>`. */
export function fail(message: string): never {
  throw new Error(`configuration ${message}`);
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** JSON of the expected shape; unset or blank is undefined. */
const parse = (name: string, raw: string | undefined, shape: string, fits: (value: unknown) => boolean): unknown => {
  if (raw === undefined || raw.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    fail(`${name} must be ${shape} (${(e as Error).message})`);
  }
  if (!fits(parsed)) fail(`${name} must be ${shape}`);
  return parsed;
};

/** An entry: an object with only the fields its reader knows. */
const entry = (where: string, value: unknown, known: readonly string[]): Json => {
  if (!isObject(value)) fail(`${where} must be an object`);
  const unknown = Object.keys(value).find((key) => !known.includes(key));
  if (unknown !== undefined) fail(`${where}: unknown field ${JSON.stringify(unknown)} (known: ${known.join(', ')})`);
  return value;
};

/** The entries of a JSON object setting, each with the path that names it in errors. */
const objectEntries = (name: string, raw: string | undefined, keyedBy: string, known: readonly string[]) => {
  const parsed = parse(name, raw, `a JSON object keyed by ${keyedBy}`, isObject) as Json | undefined;
  return Object.entries(parsed ?? {}).map(([key, value]) => {
    const where = `${name}[${JSON.stringify(key)}]`;
    return { key, where, value: entry(where, value, known) };
  });
};

const optionalString = (where: string, value: unknown): string | undefined => {
  if (value !== undefined && typeof value !== 'string') fail(`${where} must be a string`);
  return value;
};

const strings = (where: string, value: unknown, max = 20): string[] => {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > max || !value.every((v) => typeof v === 'string' && v.length > 0)) {
    fail(`${where} must be a list of at most ${max} non-empty strings`);
  }
  return value;
};

const positiveInt = (where: string, value: unknown): number | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(`${where} must be a positive integer`);
  return value;
};

export const domainName = (where: string, value: unknown): string => {
  try {
    return normalizeDomain(value);
  } catch {
    return fail(`${where} must be a DNS name`);
  }
};

const isHttpUrl = (value: unknown): value is string => {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
};

/** A secret given directly (local development) or an SSM SecureString name (cloud). */
const secretRef = (where: string, value: Json): SecretRef => {
  const { secret, secretParameter } = value;
  if (secret !== undefined && (typeof secret !== 'string' || secret.length < 16)) {
    fail(`${where}.secret must be a string of at least 16 characters`);
  }
  if (secretParameter !== undefined && (typeof secretParameter !== 'string' || !secretParameter.startsWith('/'))) {
    fail(`${where}.secretParameter must be an SSM parameter name starting with /`);
  }
  if (secret === undefined && secretParameter === undefined) fail(`${where} needs secret or secretParameter`);
  return { secret: secret as string | undefined, secretParameter: secretParameter as string | undefined };
};

// XMPP_SERVERS

const SERVER_FIELDS = [
  'kind',
  'service',
  'adminJid',
  'adminPassword',
  'adminPasswordParameter',
  'apiUrl',
  'timeoutMs',
  'inAppInvites',
] as const;
type ServerField = (typeof SERVER_FIELDS)[number];

/** `XMPP_SERVERS`: keyed by the XMPP domain; `timeoutMs` defaults to `XMPP_TIMEOUT_MS`. */
export const parseXmppServers = (raw: string | undefined, timeoutMs: number): Record<string, XmppServerConfig> => {
  const servers: Record<string, XmppServerConfig> = {};
  for (const { key, where, value } of objectEntries('XMPP_SERVERS', raw, 'domain', SERVER_FIELDS)) {
    let domain: string;
    try {
      domain = normalizeDomain(key);
    } catch {
      fail(`${where}: the key must be the XMPP domain, a DNS name`);
    }
    servers[domain] = checkServer({ ...value, domain, timeoutMs: value.timeoutMs ?? timeoutMs }, (field) => `${where}.${field}`);
  }
  return servers;
};

/**
 * One server's settings, from `XMPP_SERVERS` or the single-server shorthand;
 * `at` names the variable (or JSON path) each field came from.
 */
export const checkServer = (s: Json & { domain: string }, at: (field: ServerField) => string): XmppServerConfig => {
  if (s.kind !== 'prosody' && s.kind !== 'ejabberd') fail(`${at('kind')} must be "prosody" or "ejabberd"`);
  for (const field of ['service', 'adminJid', 'adminPassword', 'adminPasswordParameter', 'apiUrl'] as const) {
    optionalString(at(field), s[field]);
  }
  const { service, adminJid, adminPassword, adminPasswordParameter, apiUrl, timeoutMs, inAppInvites } = s as Partial<XmppServerConfig>;
  // ejabberd is provisioned over its HTTP API; `service` is informative there.
  if ((s.kind === 'prosody' || service) && (!service || !/^xmpps?:\/\/[^/]+$/.test(service))) {
    fail(`${at('service')} must look like xmpp://host:port`);
  }
  if (!adminJid) fail(`${at('adminJid')} is required`);
  try {
    parseBareJid(adminJid);
  } catch {
    fail(`${at('adminJid')} must be a bare JID`);
  }
  if (!adminPassword && !adminPasswordParameter) {
    fail(`${at('adminPassword')} (local) or ${at('adminPasswordParameter')} (an SSM SecureString) is required`);
  }
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 100) {
    fail(`${at('timeoutMs')} must be an integer >= 100`);
  }
  if (s.kind === 'ejabberd' && !apiUrl) fail(`${at('apiUrl')} is required for ejabberd (mod_http_api)`);
  if (inAppInvites !== undefined && typeof inAppInvites !== 'boolean') fail(`${at('inAppInvites')} must be true or false`);
  // The admin password travels in every API call: plaintext only on loopback.
  const apiProblem = apiUrl === undefined ? undefined : apiUrlProblem(apiUrl);
  if (apiProblem) fail(`${at('apiUrl')} ${apiProblem}: ${JSON.stringify(apiUrl)}`);
  return { ...(s as unknown as XmppServerConfig), service: service ?? '', inAppInvites: inAppInvites ?? false };
};

// SIGNUP_SOURCES

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const SOURCE_FIELDS = [
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
] as const;
const FIELD_NAMES = ['eventId', 'username', 'note', 'email', 'name'] as const;
const FIELD_PATH = /^[A-Za-z0-9_\-[\]]{1,100}(\.[A-Za-z0-9_\-[\]]{1,100}){0,5}$/;

const named = (name: string, raw: string | undefined, known: readonly string[]) =>
  objectEntries(name, raw, 'name', known).map((e) => {
    if (!NAME.test(e.key)) fail(`${e.where}: the name must be 1-64 of A-Z a-z 0-9 _ -`);
    return e;
  });

/** `SIGNUP_SOURCES`: the signup forms allowed to POST /hooks/signup/{source}, by source name. */
export const parseSignupSources = (raw: string | undefined): Record<string, SignupSource> => {
  // No prototype: the source name comes from the request path.
  const sources: Record<string, SignupSource> = Object.create(null);
  for (const { key, where, value } of named('SIGNUP_SOURCES', raw, SOURCE_FIELDS)) {
    const fields = entry(`${where}.fields`, value.fields ?? {}, FIELD_NAMES);
    for (const [field, path] of Object.entries(fields)) {
      if (typeof path !== 'string' || !FIELD_PATH.test(path)) fail(`${where}.fields.${field} must be a field name or a dotted path`);
    }
    const type = (value.type ?? 'account') as InviteType;
    if (!InviteTypes.includes(type) || type === 'reset') fail(`${where}.type must be account or contact`);
    const inviter = optionalString(`${where}.inviter`, value.inviter);
    if (inviter !== undefined) {
      try {
        parseBareJid(inviter);
      } catch {
        fail(`${where}.inviter must be a bare JID`);
      }
    }
    sources[key] = {
      ...secretRef(where, value),
      domain: value.domain === undefined ? undefined : domainName(`${where}.domain`, value.domain),
      type,
      inviter,
      fields: { eventId: 'eventId', ...(fields as Partial<SignupFields>) },
      groups: strings(`${where}.groups`, value.groups),
      roles: strings(`${where}.roles`, value.roles),
      ttlSeconds: positiveInt(`${where}.ttlSeconds`, value.ttlSeconds),
      // Webhook actors are not admins: an unlimited invite is never theirs to ask for.
      maxUses: positiveInt(`${where}.maxUses`, value.maxUses) ?? 1,
      maxLiveInvites: positiveInt(`${where}.maxLiveInvites`, value.maxLiveInvites),
    };
  }
  return sources;
};

// WEBHOOK_ENDPOINTS

/** `WEBHOOK_ENDPOINTS`: where invite events go, by endpoint name; `events` defaults to all. */
export const parseWebhookEndpoints = (raw: string | undefined): WebhookEndpoint[] =>
  named('WEBHOOK_ENDPOINTS', raw, ['url', 'secret', 'secretParameter', 'events', 'domains']).map(({ key, where, value }) => {
    const url = value.url;
    if (!isHttpUrl(url)) fail(`${where}.url must be an http(s) URL`);
    const events = value.events === undefined ? [...DefaultWebhookEventTypes] : strings(`${where}.events`, value.events);
    for (const e of events) {
      if (!(WebhookEventTypes as readonly string[]).includes(e)) fail(`${where}.events: unknown event ${JSON.stringify(e)}`);
    }
    return {
      name: key,
      url,
      ...secretRef(where, value),
      events: events as WebhookEventType[],
      domains:
        value.domains === undefined ? undefined : strings(`${where}.domains`, value.domains).map((d) => domainName(`${where}.domains`, d)),
    };
  });

// INVITES_CLIENTS

const CLIENT_FIELDS = ['name', 'platform', 'url', 'invites', 'magicLink', 'note'] as const;

const text = (value: unknown, max: number): value is string => typeof value === 'string' && value.trim().length > 0 && value.length <= max;

/** `INVITES_CLIENTS`: the apps the landing page recommends; unset, lib/web/clients.ts's defaults. */
export const parseClientApps = (raw: string | undefined): ClientApp[] => {
  const parsed = parse('INVITES_CLIENTS', raw, 'a JSON array of at most 50 apps', (v) => Array.isArray(v) && v.length <= 50);
  if (parsed === undefined) return [...DEFAULT_CLIENTS];
  return (parsed as unknown[]).map((raw, i) => {
    const where = `INVITES_CLIENTS[${i}]`;
    const app = entry(where, raw, CLIENT_FIELDS);
    if (!text(app.name, 100)) fail(`${where}.name must be a non-empty string`);
    if (!Platforms.includes(app.platform as Platform)) fail(`${where}.platform must be one of ${Platforms.join(', ')}`);
    if (!isHttpUrl(app.url)) fail(`${where}.url must be an http(s) URL`);
    if (typeof app.invites !== 'boolean') fail(`${where}.invites must be true or false`);
    const { magicLink } = app;
    if (
      magicLink !== undefined &&
      !(typeof magicLink === 'string' && magicLink.includes('{uri}') && isHttpUrl(magicLink.replace('{uri}', 'x')))
    ) {
      fail(`${where}.magicLink must be an http(s) URL containing {uri}`);
    }
    if (app.note !== undefined && !text(app.note, 200)) fail(`${where}.note must be a short string`);
    return {
      name: app.name,
      platform: app.platform as Platform,
      url: app.url,
      invites: app.invites,
      ...(app.magicLink !== undefined ? { magicLink: app.magicLink as string } : {}),
      ...(app.note !== undefined ? { note: app.note as string } : {}),
    };
  });
};
