import { issueInvite } from '../lib/invites/issue.js';
import { inviterQuota, issueDeps } from './wiring/issuing.js';
import { adminAuth } from './http/auth.js';
import { httpRoute, json } from './http/route.js';
import { emitMetric, logger, MetricName } from './wiring/observability.js';
import { xmpp } from './wiring/xmpp.js';
import { issueBody } from './http/validators.generated.js';

export const handler = httpRoute(
  async ({ actor, body }) => {
    const { view, invite } = await issueInvite(
      // A preset username is refused when the account exists on the server already.
      { ...issueDeps, quota: inviterQuota, xmpp },
      actor,
      body
    );
    // Resets take over an account: each one is in the log with who asked, besides the audit trail.
    if (invite.type === 'reset') {
      logger.info('reset invite issued', { inviteId: invite.id, jid: `${invite.username}@${invite.domain}`, source: invite.source });
    }
    await emitMetric(MetricName.invitesIssued, { via: 'api' });
    return json(201, view, { location: `/invites/by-id/${view.id}` });
  },
  { auth: adminAuth(), body: issueBody, cors: false }
);
