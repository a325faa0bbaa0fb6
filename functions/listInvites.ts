import { InviteError } from '../lib/errors.js';
import { listInvites } from '../lib/invites/adminInvites.js';
import { cfg, clock, store } from './wiring/deps.js';
import { adminAuth } from './http/auth.js';
import { httpRoute, json, noBody } from './http/route.js';

const KNOWN = new Set(['domain', 'inviter', 'status', 'type', 'source', 'limit', 'cursor']);

export const handler = httpRoute(
  async ({ event, actor }) => {
    const q = event.queryStringParameters ?? {};
    const unknown = Object.keys(q).filter((k) => !KNOWN.has(k));
    if (unknown.length > 0) throw new InviteError('invalid-request', `unknown query parameter: ${unknown[0]}`);
    const page = await listInvites({ store, clock, config: cfg }, actor, {
      domain: q.domain,
      inviter: q.inviter,
      status: q.status,
      type: q.type,
      source: q.source,
      cursor: q.cursor,
      limit: q.limit,
    });
    return json(200, page);
  },
  { auth: adminAuth(), body: noBody, cors: false }
);
