import { issueInvite, type IssueInput } from '../lib/invites/issueInvite.js';
import { adminAuth, cfg, clock, store, type AdminContext } from './deps.js';
import { httpRoute, json } from './http.js';
import { issueBody } from './schemas.js';

export const handler = httpRoute(
  async (event, context) => {
    const { view } = await issueInvite(
      { store, clock, config: cfg, quota: { perInviter: cfg.quotaLiveInvitesPerInviter } },
      (context as AdminContext).actor,
      (event.body ?? {}) as IssueInput
    );
    return json(201, view, { location: `/invites/by-id/${view.id}` });
  },
  { body: issueBody, use: [adminAuth()], cors: false }
);
