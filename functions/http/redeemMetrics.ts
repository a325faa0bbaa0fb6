/** The redeem routes' outcome metrics, as a middleware of the route chain. */
import type { MiddlewareObj } from '@middy/core';
import { isInviteError, type ErrorCode } from '../../lib/errors.js';
import { countRefusal, emitMetric, MetricName, type RedeemPath } from '../wiring/observability.js';
import type { HttpEvent, HttpResult } from './route.js';

const reasonOf = (error: unknown): ErrorCode => {
  if (isInviteError(error)) return error.code;
  const status = (error as { statusCode?: number } | undefined)?.statusCode;
  return status !== undefined && status < 500 ? 'invalid-request' : 'internal';
};

export interface RedeemMetricsOptions {
  /** Which way the account is made: the landing page's form, an app (server module), the JSON API. */
  path: RedeemPath;
  /** Also time every request as an in-app registration (POST /xmpp/register, with or without an invite). */
  inAppRegistration?: boolean;
}

const started = new WeakMap<object, number>();
const withoutInvite = new WeakSet<object>();

/** The handler made no new redeem (open registration, or a retry answered again): no `InvitesRedeemed`. */
export const notARedeem = (context: object): void => {
  withoutInvite.add(context);
};

/**
 * The redeem routes' outcome metrics: on success `InvitesRedeemed` and
 * `RedeemDuration` by path, on a thrown error `RedeemRefused` by reason.
 * Answers made without throwing (the landing page renders refusals as
 * pages) count their refusal with `countRefusal`. Put it first in
 * `RouteOptions.use` so the duration covers the whole chain after it.
 */
export const redeemMetrics = (options: RedeemMetricsOptions): MiddlewareObj<HttpEvent, HttpResult> => ({
  before: (request) => {
    started.set(request, performance.now());
  },
  after: async (request) => {
    const ms = performance.now() - (started.get(request) ?? performance.now());
    if (options.inAppRegistration) await emitMetric(MetricName.inAppRegistrationDuration, {}, ms, 'Milliseconds');
    if ((request.response?.statusCode ?? 200) >= 400 || withoutInvite.has(request.context)) return;
    await emitMetric(MetricName.invitesRedeemed, { path: options.path });
    await emitMetric(MetricName.redeemDuration, { path: options.path }, ms, 'Milliseconds');
  },
  onError: async (request) => {
    if (request.error === undefined || request.error === null) return;
    await countRefusal(reasonOf(request.error), request.error);
  },
});
