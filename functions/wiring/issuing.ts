import type { IssueDeps } from '../../lib/invites/issue.js';
import { cfg, clock, lineage, store } from './deps.js';
import { logger } from './observability.js';
import { policy } from './policy.js';

/**
 * What every way of issuing an invite shares (the API, signup forms, apps'
 * ad-hoc commands, the console): the table, the settings, the invitation
 * policy, the lineage records, and where a warning goes. Not the XMPP server:
 * a function that may ask it whether a preset name exists adds `xmpp`
 * (./xmpp.ts), which is what puts it in the VPC.
 */
export const issueDeps = {
  store,
  clock,
  config: cfg,
  warn: (message: string, details: Record<string, unknown>) => logger.warn(message, details),
  policy,
  lineage,
} satisfies Omit<IssueDeps, 'quota'>;

/** Live invites an inviter may hold, for API keys and signup forms (an app's invites count per user instead: createAppInvite). */
export const inviterQuota: IssueDeps['quota'] = { perInviter: cfg.quotaLiveInvitesPerInviter };
