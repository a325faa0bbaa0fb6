import { preauth } from '../lib/invites/serverModule.js';
import { clock, store } from './wiring/deps.js';
import { httpRoute, json } from './http/route.js';
import { moduleInput, xmppServerRoute } from './http/xmppServerRoute.js';
import { preauthBody } from './http/validators.generated.js';

/** `POST /xmpp/preauth`: a module checks an app's token (never consumes it). */
export const handler = httpRoute(async (request) => json(200, await preauth({ store, clock }, moduleInput(request))), {
  body: preauthBody,
  ...xmppServerRoute('preauth', 'check'),
});
