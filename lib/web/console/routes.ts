import type { ConsoleRoute } from './core.js';
import { invitesRoutes } from './invites.js';
import { keysRoutes } from './keys.js';
import { activityRoutes } from './activity.js';
import { funnelRoutes } from './funnel.js';
import { lineageRoutes } from './lineage.js';

/**
 * Every signed-in route of the console, by page. functions/adminConsole.ts
 * checks the session (and, for a POST, the CSRF token) before any of them
 * runs; sign-in and sign-out are the handler's own.
 */
export const CONSOLE_ROUTES: readonly ConsoleRoute[] = [
  ...invitesRoutes,
  ...lineageRoutes,
  ...keysRoutes,
  ...activityRoutes,
  // The onboarding funnel (#21).
  ...funnelRoutes,
];

export const findRoute = (method: string | undefined, path: string): ConsoleRoute | undefined =>
  CONSOLE_ROUTES.find((r) => r.method === method && r.path === path);
