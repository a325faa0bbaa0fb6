import { issueInvite, type IssueInput } from '../lib/invites/issue.js';
import { adminAuth, cfg, clock, lineage, store, type AdminContext } from './wiring/deps.js';
import { httpRoute, json } from './http/route.js';
import { emitMetric, logger, MetricName } from './wiring/observability.js';
import { policy } from './wiring/policy.js';
import { xmpp } from './wiring/xmpp.js';
import { issueBody } from './http/validators.generated.js';

export const handler = httpRoute(
  async (event, context) => {
    const { view, invite } = await issueInvite(
      {
        store,
        clock,
        config: cfg,
        quota: { perInviter: cfg.quotaLiveInvitesPerInviter },
        // A preset username is refused when the account exists on the server already.
        xmpp,
        warn: (message, details) => logger.warn(message, details),
        policy,
        lineage,
      },
      (context as AdminContext).actor,
      (event.body ?? {}) as IssueInput
    );
    // Resets take over an account: each one is in the log with who asked, besides the audit trail.
    if (invite.type === 'reset') {
      logger.info('reset invite issued', { inviteId: invite.id, jid: `${invite.username}@${invite.domain}`, source: invite.source });
    }
    await emitMetric(MetricName.invitesIssued, { via: 'api' });
    return json(201, view, { location: `/invites/by-id/${view.id}` });
  },
  { body: issueBody, use: [adminAuth()], cors: false }
);
