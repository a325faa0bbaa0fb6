import { InviteError } from '../lib/errors.js';
import { showLineage } from '../lib/lineage/showLineage.js';
import { lineage } from './wiring/deps.js';
import { adminAuth } from './http/auth.js';
import { httpRoute, json, noBody, pathParam } from './http/route.js';

const KNOWN = new Set(['depth', 'limit', 'cursor']);

/** `GET /lineage/{jid}`: who invited the account, and whom it invited (`?depth=N` for the subtree). */
export const handler = httpRoute(
  async ({ event, actor }) => {
    const q = event.queryStringParameters ?? {};
    const unknown = Object.keys(q).filter((k) => !KNOWN.has(k));
    if (unknown.length > 0) throw new InviteError('invalid-request', `unknown query parameter: ${unknown[0]}`);
    const view = await showLineage({ lineage }, actor, pathParam(event, 'jid'), {
      depth: q.depth,
      limit: q.limit,
      cursor: q.cursor,
    });
    return json(200, view, { 'cache-control': 'no-store' });
  },
  { auth: adminAuth(), body: noBody, cors: false }
);
