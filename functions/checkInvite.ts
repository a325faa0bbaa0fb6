import { findLiveInvite } from '../lib/invites/lookup.js';
import { publicView } from '../lib/invites/views.js';
import { clock, store } from './wiring/deps.js';
import { anyone } from './http/auth.js';
import { httpRoute, json, noBody, pathParam } from './http/route.js';
import { publicGuards } from './http/rateLimit.js';

/** Public and read-only: checking never consumes a use. */
export const handler = httpRoute(
  async ({ event }) => {
    const invite = await findLiveInvite({ store, clock }, pathParam(event, 'token'));
    return json(200, publicView(invite));
  },
  { auth: anyone, body: noBody, use: publicGuards('check') }
);
