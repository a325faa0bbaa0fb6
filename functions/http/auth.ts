/**
 * Who may call a route: each route names one `Authenticator` (`RouteOptions.auth`),
 * which runs before the body is parsed, so an anonymous caller learns nothing
 * about the body's validity. What it returns is the `actor` the handler receives.
 */
import { authenticate } from '../../lib/apiKeys/apiKeys.js';
import type { Actor } from '../../lib/invites/actor.js';
import type { ApiKeyStore } from '../../lib/ports/ApiKeyStore.js';
import { apiKeyStore } from '../wiring/deps.js';
import type { Authenticator } from './route.js';

/** Public routes: anyone; the handler's actor is `undefined`. */
export const anyone: Authenticator<undefined> = async () => undefined;

/** Admin routes: `Authorization: Bearer <api key>`; 401 otherwise, 403 for a key of another kind. */
export const adminAuth =
  (keys: ApiKeyStore = apiKeyStore): Authenticator<Actor> =>
  (event) =>
    authenticate(keys, event.headers?.authorization);

/** The `/xmpp/*` routes: only an xmpp-server key gets in (an API key is 403, no key 401). */
export const xmppServerAuth =
  (keys: ApiKeyStore = apiKeyStore): Authenticator<Actor> =>
  (event) =>
    authenticate(keys, event.headers?.authorization, 'xmpp-server');
