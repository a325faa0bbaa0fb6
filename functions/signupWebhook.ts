import { DynamoDBSignupEventStore } from '../lib/adapters/dynamodb/DynamoDBSignupEventStore.js';
import { webhookSecrets } from '../lib/adapters/aws/webhookSecrets.js';
import { handleSignup, type SignupDeps } from '../lib/webhooks/signup.js';
import { cfg } from './wiring/deps.js';
import { inviterQuota, issueDeps } from './wiring/issuing.js';
import { anyone } from './http/auth.js';
import { errorBody, httpRoute, json, noBody, pathParam } from './http/route.js';
import { emitMetric, MetricName } from './wiring/observability.js';
import { xmpp } from './wiring/xmpp.js';

const deps: SignupDeps = {
  ...issueDeps,
  quota: inviterQuota,
  // A preset username is refused when the account exists on the server already.
  xmpp,
  sources: cfg.signupSources,
  secret: webhookSecrets(cfg.signupSources),
  events: new DynamoDBSignupEventStore({ tableName: cfg.tableName }),
  toleranceSeconds: cfg.webhookToleranceSeconds,
};

/**
 * `POST /hooks/signup/{source}`: a signed signup form delivery. No body
 * parser in the chain: the signature covers the raw bytes, so the use case
 * verifies first and parses (JSON or form fields) after.
 */
export const handler = httpRoute(
  async ({ event }) => {
    const raw = typeof event.body === 'string' ? event.body : '';
    const { replayed, view } = await handleSignup(deps, {
      source: pathParam(event, 'source'),
      signature: event.headers?.['x-signature'],
      contentType: event.headers?.['content-type'],
      body: Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8'),
    });
    if (!replayed) await emitMetric(MetricName.invitesIssued, { via: 'signup' });
    return replayed ? json(200, view, { 'idempotent-replayed': 'true' }) : json(201, view, { location: `/invites/by-id/${view.id}` });
  },
  {
    // Anyone may post: the signature, checked by the use case, says who sent it.
    auth: anyone,
    body: noBody,
    cors: false,
    maxBodyBytes: cfg.maxBodyBytes,
    // The signature scheme is not a Bearer token: no WWW-Authenticate challenge.
    errorResponse: (error, status, { 'www-authenticate': _challenge, ...headers }) => json(status, errorBody(error), headers),
  }
);
