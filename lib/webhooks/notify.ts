import type { Clock } from '../ports/Clock.js';
import type { DeadLetter } from '../ports/DeadLetter.js';
import type { InviteStore } from '../ports/InviteStore.js';
import type { WebhookSender } from '../ports/WebhookSender.js';
import { eventDomain, toWebhookEvent, type InviteChange, type OutboundEvent } from './events.js';
import type { WebhookDelivery, WebhookEndpoint } from './settings.js';
import { signatureHeader } from './signature.js';

export interface NotifyDeps {
  sender: WebhookSender;
  deadLetter: DeadLetter;
  /** Reads the invite of a redemption, to say who invited and on which domain. */
  store: Pick<InviteStore, 'get'>;
  endpoints: readonly WebhookEndpoint[];
  /** The endpoint's signing secret (resolved once per container). */
  secret: (endpoint: WebhookEndpoint) => Promise<string>;
  policy: Pick<WebhookDelivery, 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs' | 'timeoutMs'>;
  clock: Clock;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  log?: (message: string, data: Record<string, unknown>) => void;
}

export interface DeliveryOutcome {
  endpoint: string;
  eventId: string;
  outcome: 'delivered' | 'dead-lettered';
  attempts: number;
}

const USER_AGENT = 'xmpp-invites-webhooks/1';
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Worth another try: the receiver is down, overloaded, or asked us to come back. */
const transient = (status: number) => status === 408 || status === 425 || status === 429 || status >= 500;

export const wants = (endpoint: WebhookEndpoint, event: OutboundEvent): boolean => {
  if (!endpoint.events.includes(event.type)) return false;
  if (!endpoint.domains) return true;
  const domain = eventDomain(event);
  return domain !== undefined && endpoint.domains.includes(domain);
};

/** Exponential backoff with jitter: base, 2x base, 4x base ... capped, each scaled by 0.5-1. */
export const backoffMs = (failedAttempts: number, policy: Pick<WebhookDelivery, 'baseDelayMs' | 'maxDelayMs'>, random: () => number) =>
  Math.round(Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failedAttempts - 1)) * (0.5 + random() * 0.5));

/**
 * Delivers one event to one endpoint: signs it afresh for every attempt (so a
 * late retry is not stale at the receiver), retries transient failures with
 * backoff, and dead-letters what still fails or is refused (3xx, other 4xx).
 * Throws only if the dead letter itself cannot be written: the caller then
 * lets the stream batch be retried.
 */
export const deliver = async (deps: NotifyDeps, endpoint: WebhookEndpoint, event: OutboundEvent): Promise<DeliveryOutcome> => {
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  const body = JSON.stringify(event);
  const secret = await deps.secret(endpoint);
  let lastStatus: number | undefined;
  let error = '';
  let attempts = 0;
  while (attempts < deps.policy.maxAttempts) {
    attempts++;
    try {
      const { status } = await deps.sender.send({
        url: endpoint.url,
        body,
        timeoutMs: deps.policy.timeoutMs,
        headers: {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          'x-signature': signatureHeader(secret, deps.clock.now(), body),
          'x-event-id': event.id,
          'x-event-type': event.type,
        },
      });
      lastStatus = status;
      if (status >= 200 && status < 300) return { endpoint: endpoint.name, eventId: event.id, outcome: 'delivered', attempts };
      error = `HTTP ${status}`;
      if (!transient(status)) break;
    } catch (e) {
      lastStatus = undefined;
      error = (e as Error).message || String(e);
    }
    if (attempts < deps.policy.maxAttempts) await sleep(backoffMs(attempts, deps.policy, random));
  }
  deps.log?.('webhook delivery failed; dead-lettered', { endpoint: endpoint.name, eventId: event.id, type: event.type, attempts, error });
  await deps.deadLetter.put({
    kind: 'webhook-delivery',
    endpoint: endpoint.name,
    url: endpoint.url,
    event,
    attempts,
    lastStatus,
    error,
    failedAt: new Date(deps.clock.now() * 1000).toISOString(),
  });
  return { endpoint: endpoint.name, eventId: event.id, outcome: 'dead-lettered', attempts };
};

/** Events in change order; each event to its endpoints in parallel. */
const notifyChanges = async (deps: NotifyDeps, changes: readonly InviteChange[]): Promise<DeliveryOutcome[]> => {
  const outcomes: DeliveryOutcome[] = [];
  if (deps.endpoints.length === 0) return outcomes;
  for (const change of changes) {
    const current = change.type === 'invite.redeemed' ? await deps.store.get(change.inviteId) : undefined;
    const event = toWebhookEvent(change, current);
    const targets = deps.endpoints.filter((e) => wants(e, event));
    outcomes.push(...(await Promise.all(targets.map((endpoint) => deliver(deps, endpoint, event)))));
  }
  return outcomes;
};

export interface BatchItemFailure {
  itemIdentifier: string;
}

/**
 * A stream batch, record by record in order. On the first record that cannot
 * be handled (the dead letter is unreachable, a secret cannot be read) it
 * stops and reports that record: Lambda retries from there (and, after
 * maximumRetryAttempts, hands the batch to the on-failure destination).
 * Records before it are not delivered twice.
 */
export const notifyStreamBatch = async <R>(
  deps: NotifyDeps,
  records: readonly R[],
  read: {
    changes: (record: R) => InviteChange[];
    sequenceNumber: (record: R) => string | undefined;
    /**
     * The record's other work, before its webhooks (the onboarding funnel's
     * counters): a failure stops the batch there, as a failed dead letter does.
     */
    first?: (record: R) => Promise<void>;
  }
): Promise<{ batchItemFailures: BatchItemFailure[]; outcomes: DeliveryOutcome[] }> => {
  const outcomes: DeliveryOutcome[] = [];
  for (const record of records) {
    try {
      await read.first?.(record);
      outcomes.push(...(await notifyChanges(deps, read.changes(record))));
    } catch (e) {
      deps.log?.('stream record not handled; the batch will be retried from it', { error: (e as Error).message });
      return { batchItemFailures: [{ itemIdentifier: read.sequenceNumber(record) ?? '' }], outcomes };
    }
  }
  return { batchItemFailures: [], outcomes };
};
