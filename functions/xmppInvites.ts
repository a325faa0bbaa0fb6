import { DynamoDBRateLimiter } from '../lib/adapters/dynamodb/DynamoDBRateLimiter.js';
import { createAppInvite } from '../lib/invites/serverModule.js';
import { cfg } from './wiring/deps.js';
import { issueDeps } from './wiring/issuing.js';
import { xmpp } from './wiring/xmpp.js';
import { httpRoute, json } from './http/route.js';
import { moduleInput, xmppServerRoute } from './http/xmppServerRoute.js';
import { emitMetric, MetricName } from './wiring/observability.js';
import { appInviteBody } from './http/validators.generated.js';

const limiter = new DynamoDBRateLimiter({ tableName: cfg.tableName });

/** `POST /xmpp/invites`: an invite a user created from their app (XEP-0401 ad-hoc). */
export const handler = httpRoute(
  async (request) => {
    const view = await createAppInvite(
      {
        ...issueDeps,
        limiter,
        // Does the preset account exist already? (create-account)
        xmpp,
      },
      request.actor,
      moduleInput(request)
    );
    await emitMetric(MetricName.invitesIssued, { via: 'app' });
    // The module hands the URI and landing URL to the user; the token itself stays inside them.
    return json(201, {
      id: view.id,
      uri: view.uri,
      landingUrl: view.landingUrl,
      expiresAt: view.expiresAt,
      type: view.type,
      username: view.username,
    });
  },
  { body: appInviteBody, ...xmppServerRoute('invites') }
);
