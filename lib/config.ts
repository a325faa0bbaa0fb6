/**
 * The only reader of process.env. Everything else receives a Config, read
 * once at start: a bad setting is one line naming the variable and what is
 * wrong (lib/jsonSettings.ts reads the settings given as JSON).
 */
import { PASSWORD_MIN_LENGTH_FLOOR } from './invites/password.js';
import { LOCALPART_MAX_BYTES, formatJid, normalizeLocalpart, parseBareJid } from './jid.js';
import { DEFAULT_RESERVED_USERNAMES } from './invites/limits.js';
import {
  checkServer,
  domainName,
  fail,
  parseClientApps,
  parseSignupSources,
  parseWebhookEndpoints,
  parseXmppServers,
} from './jsonSettings.js';
import type { XmppServerConfig } from './adapters/xmpp/settings.js';
import type { ClientApp } from './web/clients.js';
import type { PolicySettings } from './invites/policy.js';
import type { SignupSource, WebhookDelivery } from './webhooks/settings.js';

// Owned by the XMPP adapters that read them; named here for every reader of Config.
export type { XmppServerConfig, XmppServerKind } from './adapters/xmpp/settings.js';

export interface Config {
  tableName: string;
  domains: string[];
  defaultDomain: string;
  baseUrl: string;
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
  registrationInviteOnly: boolean;
  passwordMinLength: number;
  usernameMaxLength: number;
  /**
   * New usernames may use any script (`USERNAME_UNICODE`), under nodeprep and
   * a one-script rule; off, they are a-z, 0-9 and `. _ - +` (lib/jid.ts).
   */
  usernameUnicode: boolean;
  maxBodyBytes: number;
  /** Signup forms allowed to POST /hooks/signup/{source} (`SIGNUP_SOURCES`, JSON), by source name. */
  signupSources: Record<string, SignupSource>;
  /** How far a signed webhook's timestamp may be from now. */
  webhookToleranceSeconds: number;
  /** Outbound invite events (`WEBHOOK_ENDPOINTS`, JSON) and how they are delivered. */
  webhooks: WebhookDelivery;
  xmpp: Record<string, XmppServerConfig>;
  /** PEM file of an extra CA to trust for XMPP TLS (self-signed local servers). */
  xmppTlsCaFile?: string;
  /** Apps recommended on the invite landing page (`INVITES_CLIENTS`, JSON); defaults in lib/web/clients.ts. */
  webClients: ClientApp[];
  /** Live invites a non-admin actor may hold per inviter JID (like ejabberd's max_invites); undefined = none (on POST /xmpp/invites: 10, lib/invites/limits.ts). */
  quotaLiveInvitesPerInviter?: number;
  /** Fixed-window limits on the public routes; 0 turns a limit off. */
  rateLimits: RateLimits;
  /**
   * Accounts no reset invite may touch: every provisioning JID plus
   * `PROTECTED_JIDS` (comma-separated bare JIDs, e.g. the servers' admins).
   */
  protectedJids: string[];
  /**
   * Key of the HMAC that fingerprints a pending claim's password: `CLAIM_KEY`
   * (local), or the SSM SecureString named by `CLAIM_KEY_PARAMETER` (cloud).
   */
  claimKey?: string;
  claimKeyParameter?: string;
  /**
   * Containment (lib/invites/limits.ts). Usernames only an admin key may
   * preset and nobody may choose (`RESERVED_USERNAMES`, normalized
   * localparts): the role names, plus every provisioning account's localpart.
   */
  reservedUsernames: string[];
  /** Invites one `xmpp-server` key may create per hour, whichever users it names (`MODULE_INVITES_PER_HOUR`; 0 = no limit). */
  moduleInvitesPerHour: number;
  /** The invitation policy (lib/invites/policy.ts): weekly allowance per inviter, registration brake per domain. */
  invitePolicy: PolicySettings;
  /**
   * Lineage (lib/lineage/mayInvite.ts): an account more than this many
   * invitations below a root of the tree may not invite (`INVITE_DEPTH_LIMIT`);
   * undefined = no limit.
   */
  inviteDepthLimit?: number;
  /** Seconds an account made by this service must exist before it may invite (`MIN_ACCOUNT_AGE_TO_INVITE`); undefined = none. */
  minAccountAgeToInvite?: number;
  /**
   * The admin console (lib/web/console/, #21): the HMAC key of its session
   * cookies, `CONSOLE_SESSION_KEY` (local) or the SSM SecureString named by
   * `CONSOLE_SESSION_KEY_PARAMETER` (cloud); sign-in attempts per client
   * address and rate-limit window (`CONSOLE_SIGNINS_PER_IP`, default 10).
   */
  console?: { sessionKey?: string; sessionKeyParameter?: string; signInsPerIp: number };
}

export type PublicRoute = 'check' | 'redeem' | 'landing';
/** Requests per window, per client address and per token, for each public route. */
export interface RateLimits {
  windowSeconds: number;
  perIp: Record<PublicRoute, number>;
  perToken: Record<PublicRoute, number>;
  /** IPv6 clients count per prefix of this length (`RATE_LIMIT_IPV6_PREFIX`, 1..128, default 64). */
  ipv6Prefix: number;
}

type Env = Record<string, string | undefined>;

const int = (env: Env, name: string, fallback: number, min = 0): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    fail(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return value;
};

const bool = (env: Env, name: string, fallback: boolean): boolean => {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  fail(`${name} must be true or false, got ${JSON.stringify(env[name])}`);
};

/** An IPv6 client is usually given a /64: every address in it is one client for the rate limits. */
const ipv6Prefix = (env: Env): number => {
  const prefix = int(env, 'RATE_LIMIT_IPV6_PREFIX', 64, 1);
  if (prefix > 128) fail(`RATE_LIMIT_IPV6_PREFIX must be at most 128, got ${prefix}`);
  return prefix;
};

/** The single-server shorthand: one variable a field. */
const SHORTHAND = {
  kind: 'XMPP_KIND',
  service: 'XMPP_SERVICE',
  adminJid: 'XMPP_ADMIN_JID',
  adminPassword: 'XMPP_ADMIN_PASSWORD',
  adminPasswordParameter: 'XMPP_ADMIN_PASSWORD_PARAMETER',
  apiUrl: 'XMPP_API_URL',
  timeoutMs: 'XMPP_TIMEOUT_MS',
  inAppInvites: 'XMPP_IN_APP_INVITES',
} as const;

const xmppServers = (env: Env, timeoutMs: number): Record<string, XmppServerConfig> => {
  const servers = parseXmppServers(env.XMPP_SERVERS, timeoutMs);
  // Shorthand for the common single-server case. Half of it is a mistake
  // (the server would be silently missing), not a choice.
  if (Boolean(env.XMPP_DOMAIN) !== Boolean(env.XMPP_ADMIN_JID)) {
    fail(env.XMPP_DOMAIN ? 'XMPP_ADMIN_JID is required when XMPP_DOMAIN is set' : 'XMPP_DOMAIN is required when XMPP_ADMIN_JID is set');
  }
  if (env.XMPP_DOMAIN && env.XMPP_ADMIN_JID) {
    const domain = domainName('XMPP_DOMAIN', env.XMPP_DOMAIN);
    servers[domain] ??= checkServer(
      {
        kind: env.XMPP_KIND ?? 'prosody',
        domain,
        service: env.XMPP_SERVICE ?? 'xmpp://127.0.0.1:5222',
        adminJid: env.XMPP_ADMIN_JID,
        adminPassword: env.XMPP_ADMIN_PASSWORD || undefined,
        adminPasswordParameter: env.XMPP_ADMIN_PASSWORD_PARAMETER || undefined,
        apiUrl: env.XMPP_API_URL || undefined,
        timeoutMs,
        inAppInvites: bool(env, 'XMPP_IN_APP_INVITES', false),
      },
      (field) => SHORTHAND[field]
    );
  }
  return servers;
};

/** Comma-separated DNS names. */
const domainList = (env: Env, name: string): string[] =>
  (env[name] ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean)
    .map((d) => domainName(`${name}: ${JSON.stringify(d)}`, d));

/**
 * Each kind of secret sits under its own path below `SECRETS_PATH` (set by
 * serverless.yml), because each function's role may read only its own kind
 * (infra/iam.yml). A parameter elsewhere would fail at the first request
 * with AccessDenied; this names it at start instead.
 */
export const SecretPaths = {
  xmpp: '/xmpp/',
  claims: '/claims/',
  signup: '/hooks/signup/',
  webhooksOut: '/hooks/out/',
  console: '/console/',
} as const;

const checkSecretPaths = (env: Env, config: Config): void => {
  const root = (env.SECRETS_PATH ?? '').replace(/\/+$/, '');
  if (!root) return;
  const check = (what: string, parameter: string | undefined, sub: string) => {
    if (parameter !== undefined && !parameter.startsWith(`${root}${sub}`)) {
      fail(
        `${what}: the SSM parameter ${parameter} must be under ${root}${sub} (only that path is readable by the functions that need it)`
      );
    }
  };
  for (const s of Object.values(config.xmpp))
    check(`adminPasswordParameter of the XMPP server for ${s.domain}`, s.adminPasswordParameter, SecretPaths.xmpp);
  check('CLAIM_KEY_PARAMETER', config.claimKeyParameter, SecretPaths.claims);
  check('CONSOLE_SESSION_KEY_PARAMETER', config.console?.sessionKeyParameter, SecretPaths.console);
  for (const [name, s] of Object.entries(config.signupSources))
    check(`SIGNUP_SOURCES[${JSON.stringify(name)}].secretParameter`, s.secretParameter, SecretPaths.signup);
  for (const e of config.webhooks.endpoints)
    check(`WEBHOOK_ENDPOINTS[${JSON.stringify(e.name)}].secretParameter`, e.secretParameter, SecretPaths.webhooksOut);
};

/** The invitation policy's limits: unset (or empty) = no limit; otherwise at least 1. */
const invitePolicy = (env: Env): PolicySettings => {
  const limit = (name: string) => (env[name] ? int(env, name, 0, 1) : undefined);
  return {
    invitesPerInviterPerWeek: limit('INVITES_PER_INVITER_PER_WEEK'),
    maxRegistrationsPerHour: limit('MAX_REGISTRATIONS_PER_HOUR'),
  };
};

/** The admin console's settings (#21). */
const consoleSettings = (env: Env): NonNullable<Config['console']> => {
  const sessionKey = env.CONSOLE_SESSION_KEY || undefined;
  if (sessionKey !== undefined && sessionKey.length < 32) fail('CONSOLE_SESSION_KEY must be at least 32 characters of random text');
  return {
    sessionKey,
    sessionKeyParameter: env.CONSOLE_SESSION_KEY_PARAMETER || undefined,
    signInsPerIp: int(env, 'CONSOLE_SIGNINS_PER_IP', 10, 0),
  };
};

const claimKey = (env: Env): string | undefined => {
  const key = env.CLAIM_KEY || undefined;
  if (key !== undefined && key.length < 32) fail('CLAIM_KEY must be at least 32 characters of random text');
  return key;
};

export const loadConfig = (env: Env = process.env): Config => {
  const timeoutMs = int(env, 'XMPP_TIMEOUT_MS', 5000, 100);
  const xmpp = xmppServers(env, timeoutMs);
  const listed = domainList(env, 'INVITES_DOMAINS');
  const domains = listed.length > 0 ? listed : Object.keys(xmpp).length > 0 ? Object.keys(xmpp) : ['localhost'];
  const defaultTtlSeconds = int(env, 'INVITES_DEFAULT_TTL_SECONDS', 7 * 24 * 3600, 60);
  const maxTtlSeconds = int(env, 'INVITES_MAX_TTL_SECONDS', 90 * 24 * 3600, 60);
  if (defaultTtlSeconds > maxTtlSeconds) {
    fail('INVITES_DEFAULT_TTL_SECONDS must not exceed INVITES_MAX_TTL_SECONDS');
  }
  const protectedJids = [
    ...Object.values(xmpp).map((s) => s.adminJid),
    ...(env.PROTECTED_JIDS ?? '')
      .split(',')
      .map((j) => j.trim())
      .filter(Boolean),
  ].map((raw) => {
    try {
      return formatJid(parseBareJid(raw));
    } catch {
      return fail(`PROTECTED_JIDS: ${JSON.stringify(raw)} is not a bare JID`);
    }
  });
  const config: Config = {
    protectedJids: [...new Set(protectedJids)],
    claimKey: claimKey(env),
    claimKeyParameter: env.CLAIM_KEY_PARAMETER || undefined,
    tableName: env.INVITES_TABLE || 'xmpp-invites',
    domains,
    defaultDomain: domains[0] as string,
    baseUrl: (env.INVITES_BASE_URL || 'http://localhost:3000').replace(/\/+$/, ''),
    defaultTtlSeconds,
    maxTtlSeconds,
    registrationInviteOnly: bool(env, 'REGISTRATION_INVITE_ONLY', true),
    passwordMinLength: int(env, 'PASSWORD_MIN_LENGTH', 8, PASSWORD_MIN_LENGTH_FLOOR),
    usernameMaxLength: int(env, 'USERNAME_MAX_LENGTH', 64, 1),
    usernameUnicode: bool(env, 'USERNAME_UNICODE', false),
    maxBodyBytes: int(env, 'MAX_BODY_BYTES', 16 * 1024, 256),
    xmpp,
    xmppTlsCaFile: env.XMPP_TLS_CA_FILE || undefined,
    signupSources: parseSignupSources(env.SIGNUP_SOURCES),
    webhookToleranceSeconds: int(env, 'WEBHOOK_TOLERANCE_SECONDS', 300, 1),
    webhooks: {
      endpoints: parseWebhookEndpoints(env.WEBHOOK_ENDPOINTS),
      maxAttempts: int(env, 'WEBHOOK_MAX_ATTEMPTS', 4, 1),
      baseDelayMs: int(env, 'WEBHOOK_RETRY_BASE_MS', 250, 1),
      maxDelayMs: int(env, 'WEBHOOK_RETRY_MAX_MS', 5000, 1),
      timeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 5000, 100),
      deadLetterQueueUrl: env.WEBHOOK_DEAD_LETTER_QUEUE_URL || undefined,
    },
    webClients: parseClientApps(env.INVITES_CLIENTS),
    invitePolicy: invitePolicy(env),
    quotaLiveInvitesPerInviter: env.QUOTA_LIVE_INVITES_PER_INVITER ? int(env, 'QUOTA_LIVE_INVITES_PER_INVITER', 0, 1) : undefined,
    reservedUsernames: [],
    moduleInvitesPerHour: int(env, 'MODULE_INVITES_PER_HOUR', 300),
    inviteDepthLimit: env.INVITE_DEPTH_LIMIT ? int(env, 'INVITE_DEPTH_LIMIT', 0, 0) : undefined,
    minAccountAgeToInvite: env.MIN_ACCOUNT_AGE_TO_INVITE ? int(env, 'MIN_ACCOUNT_AGE_TO_INVITE', 0, 1) : undefined,
    console: consoleSettings(env),
    rateLimits: {
      windowSeconds: int(env, 'RATE_LIMIT_WINDOW_SECONDS', 60, 1),
      // Checks and landing pages are cheap reads; redeems create accounts.
      perIp: {
        check: int(env, 'RATE_LIMIT_CHECK_PER_IP', 600),
        landing: int(env, 'RATE_LIMIT_LANDING_PER_IP', 600),
        redeem: int(env, 'RATE_LIMIT_REDEEM_PER_IP', 60),
      },
      perToken: {
        check: int(env, 'RATE_LIMIT_CHECK_PER_TOKEN', 120),
        landing: int(env, 'RATE_LIMIT_LANDING_PER_TOKEN', 120),
        redeem: int(env, 'RATE_LIMIT_REDEEM_PER_TOKEN', 30),
      },
      ipv6Prefix: ipv6Prefix(env),
    },
  };
  config.reservedUsernames = reservedUsernames(env, xmpp);
  checkSecretPaths(env, config);
  return config;
};

/** `RESERVED_USERNAMES` (comma-separated; unset: the defaults), plus the provisioning accounts' localparts. */
const reservedUsernames = (env: Env, xmpp: Record<string, XmppServerConfig>): string[] => {
  const listed =
    env.RESERVED_USERNAMES === undefined || env.RESERVED_USERNAMES.trim() === ''
      ? [...DEFAULT_RESERVED_USERNAMES]
      : env.RESERVED_USERNAMES.split(',')
          .map((n) => n.trim())
          .filter(Boolean);
  const names = listed.map((raw) => {
    try {
      return normalizeLocalpart(raw, { maxLength: LOCALPART_MAX_BYTES, rule: 'existing' });
    } catch {
      return fail(`RESERVED_USERNAMES: ${JSON.stringify(raw)} is not a username`);
    }
  });
  const admins = Object.values(xmpp).map((s) => parseBareJid(s.adminJid).local as string);
  return [...new Set([...names, ...admins])];
};

/** Can apps open invites of this domain on its server (its module installed)? */
export const inAppInvites = (config: Pick<Config, 'xmpp'>, domain: string): boolean => config.xmpp[domain]?.inAppInvites === true;

let cached: Config | undefined;
/** Config of this process, read once. */
export const config = (): Config => (cached ??= loadConfig());
