import { showInvite } from '../lib/invites/adminInvites.js';
import { adminAuth, cfg, clock, store, type AdminContext } from './wiring/deps.js';
import { httpRoute, json, pathParam } from './http/route.js';

export const handler = httpRoute(
  async (event, context) =>
    json(200, await showInvite({ store, clock, config: cfg }, (context as AdminContext).actor, pathParam(event, 'id'))),
  { use: [adminAuth()], cors: false }
);
