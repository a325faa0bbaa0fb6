import { InviteError } from '../lib/errors.js';
import { showLineage } from '../lib/lineage/showLineage.js';
import { adminAuth, lineage, type AdminContext } from './wiring/deps.js';
import { httpRoute, json, pathParam } from './http/route.js';

const KNOWN = new Set(['depth', 'limit', 'cursor']);

const intQuery = (value: string | undefined, name: string) => {
  if (value === undefined) return undefined;
  if (!/^\d{1,4}$/.test(value)) throw new InviteError('invalid-request', `${name} must be a small positive integer`);
  return Number(value);
};

/** `GET /lineage/{jid}`: who invited the account, and whom it invited (`?depth=N` for the subtree). */
export const handler = httpRoute(
  async (event, context) => {
    const q = event.queryStringParameters ?? {};
    const unknown = Object.keys(q).filter((k) => !KNOWN.has(k));
    if (unknown.length > 0) throw new InviteError('invalid-request', `unknown query parameter: ${unknown[0]}`);
    const view = await showLineage({ lineage }, (context as AdminContext).actor, pathParam(event, 'jid'), {
      depth: intQuery(q.depth, 'depth'),
      limit: intQuery(q.limit, 'limit'),
      cursor: q.cursor,
    });
    return json(200, view, { 'cache-control': 'no-store' });
  },
  { use: [adminAuth()], cors: false }
);
