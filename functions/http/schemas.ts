/**
 * JSON schemas of request bodies: shape and types; the use cases check meaning.
 * Plain data: validators.build.ts compiles them ahead of time (ajv standalone)
 * into validators.generated.ts, so no function compiles a schema when it starts.
 * After changing one here, run `npm run build:validators`.
 */
const labels = { type: 'array', maxItems: 20, items: { type: 'string', minLength: 1, maxLength: 100 } } as const;

export const issueBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: ['account', 'contact', 'reset'] },
    domain: { type: 'string', minLength: 1, maxLength: 253 },
    inviter: { type: 'string', minLength: 3, maxLength: 3071 },
    username: { type: 'string', minLength: 1, maxLength: 1023 },
    maxUses: { type: ['integer', 'null'] },
    ttlSeconds: { type: 'integer' },
    groups: labels,
    roles: labels,
    note: { type: 'string', maxLength: 1000 },
  },
} as const;

export const credentialsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['password'],
  properties: {
    username: { type: 'string', minLength: 1, maxLength: 1023 },
    password: { type: 'string', minLength: 1, maxLength: 1024 },
    domain: { type: 'string', minLength: 1, maxLength: 253 },
  },
} as const;

export const redeemBody = {
  ...credentialsBody,
  properties: { username: credentialsBody.properties.username, password: credentialsBody.properties.password },
} as const;

// The /xmpp/* routes (modules/README.md): a server module calls them on its users' behalf.
const domain = { type: 'string', minLength: 1, maxLength: 253 } as const;
const token = { type: 'string', minLength: 1, maxLength: 256 } as const;
const jid = { type: 'string', minLength: 3, maxLength: 3071 } as const;
/** An IPv4 or IPv6 address as the server saw it (a zone id allowed). */
const address = { type: 'string', minLength: 1, maxLength: 100, pattern: '^[0-9A-Za-z.:%_-]+$' } as const;

export const preauthBody = {
  type: 'object',
  additionalProperties: false,
  required: ['token', 'domain'],
  properties: { token, domain, address },
} as const;

export const xmppRegisterBody = {
  type: 'object',
  additionalProperties: false,
  required: ['domain', 'password'],
  properties: {
    token,
    domain,
    username: { type: 'string', minLength: 1, maxLength: 1023 },
    password: { type: 'string', minLength: 1, maxLength: 1024 },
    address,
  },
} as const;

export const subscribeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['token', 'domain', 'contact', 'subscriber'],
  properties: { token, domain, contact: jid, subscriber: jid, address },
} as const;

export const appInviteBody = {
  type: 'object',
  additionalProperties: false,
  required: ['domain', 'inviter', 'type'],
  properties: {
    domain,
    inviter: jid,
    type: { type: 'string', enum: ['contact', 'account'] },
    username: { type: 'string', minLength: 1, maxLength: 1023 },
    rosterSubscription: { type: 'boolean' },
    maxLiveInvites: { type: 'integer', minimum: 1, maximum: 1000000 },
    address,
  },
} as const;

// Lineage (lib/lineage): a module reports an account deleted; an admin contains a branch.
export const accountDeletedBody = {
  type: 'object',
  additionalProperties: false,
  required: ['domain', 'jid'],
  properties: { domain, jid },
} as const;

export const lineageRevokeBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    subtree: { type: 'boolean' },
    dryRun: { type: 'boolean' },
    cursor: { type: 'string', minLength: 1, maxLength: 65536 },
  },
} as const;
