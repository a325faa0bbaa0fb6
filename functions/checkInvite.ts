import { findLiveInvite } from '../lib/invites/checkInvite.js';
import { publicView } from '../lib/invites/views.js';
import { clock, store } from './deps.js';
import { httpRoute, json, pathParam } from './http.js';
import { publicGuards } from './rateLimit.js';

/** Public and read-only: checking never consumes a use. */
export const handler = httpRoute(
  async (event) => {
    const invite = await findLiveInvite({ store, clock }, pathParam(event, 'token'));
    return json(200, publicView(invite));
  },
  { use: publicGuards('check') }
);
