/** The redeem routes' outcome metrics, as a middleware of the route chain. */
import type { MiddlewareObj } from '@middy/core';
import { isInviteError, type ErrorCode } from '../../lib/errors.js';
import type { InviteStore } from '../../lib/ports/InviteStore.js';
import { cfg } from '../wiring/deps.js';
import { countFunnel } from '../wiring/funnel.js';
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

const refusalDomains = new WeakMap<object, string>();

/** The domain a refusal of this request counts on in the onboarding funnel, once the handler knows it (the module's). */
export const refusalDomain = (context: object, domain: string): void => {
  refusalDomains.set(context, domain);
};

/**
 * `store` for one request: the first invite it reads names the domain a
 * refusal counts on, without a read of its own. A token that matches no
 * invite names none (see domainOfRefusal).
 */
export const noticingDomain = (store: InviteStore, context: object): InviteStore =>
  new Proxy(store, {
    get(target, name) {
      if (name === 'get') {
        return async (...args: Parameters<InviteStore['get']>) => {
          const invite = await target.get(...args);
          if (invite && !refusalDomains.has(context)) refusalDomain(context, invite.domain);
          return invite;
        };
      }
      const value: unknown = Reflect.get(target, name, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });

/** The invite's or the module's domain; with one domain served, that one; else none (the funnel does not count it). */
const domainOfRefusal = (context: object): string | undefined =>
  refusalDomains.get(context) ?? (cfg.domains.length === 1 ? cfg.domains[0] : undefined);

/**
 * Counts one refused redeem: the `RedeemRefused` metric by reason, and the
 * onboarding funnel's `refused:<reason>` of its domain (one UpdateItem; a
 * failure is logged, never thrown).
 */
export const countRedeemRefusal = async (context: object, reason: ErrorCode, error?: unknown): Promise<void> => {
  await Promise.all([countRefusal(reason, error), countFunnel(domainOfRefusal(context), { refused: { [reason]: 1 } })]);
};

/**
 * The redeem routes' outcome metrics: on success `InvitesRedeemed` and
 * `RedeemDuration` by path, on a thrown error `RedeemRefused` by reason.
 * Answers made without throwing (the landing page renders refusals as
 * pages) count their refusal with `countRedeemRefusal`. Put it first in
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
    await countRedeemRefusal(request.context, reasonOf(request.error), request.error);
  },
});
