/** JSON schemas of request bodies: shape and types; the use cases check meaning. */
const labels = { type: 'array', maxItems: 20, items: { type: 'string', minLength: 1, maxLength: 100 } };

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
