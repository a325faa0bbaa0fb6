/**
 * Counting the onboarding funnel (#21). Invites issued and registrations come
 * from the table's stream (the notifier, at least once: each record counts
 * once by its id); landing opens and refusals are counted where they happen,
 * one write each, and never fail the request they count.
 */
import type { FunnelCounters, FunnelCounts } from '../ports/FunnelCounters.js';
import { dayOf } from '../ports/FunnelCounters.js';
import type { Clock } from '../ports/Clock.js';

/** Counts from one stream record: `id` is the record's, so a retried batch adds them once. */
export interface FunnelEvent {
  id: string;
  domain: string;
  day: string;
  counts: FunnelCounts;
}

/** Adds one stream record's counts, at most once. Throws when the table does: the batch is then retried from this record. */
export const countStreamEvent = async (counters: Pick<FunnelCounters, 'addOnce'>, event: FunnelEvent | undefined): Promise<void> => {
  if (event) await counters.addOnce(event.domain, event.day, event.counts, event.id);
};

export interface FunnelCountDeps {
  counters: Pick<FunnelCounters, 'add'>;
  clock: Clock;
  /** Where a failed count is reported; it never fails the caller. */
  warn: (message: string, data: Record<string, unknown>) => void;
}

/**
 * Adds `counts` to today's record of `domain` (one UpdateItem). A failure is
 * reported and swallowed: a page or a refusal answers as if nothing was
 * counted. No domain (a token that matches no invite, with several domains
 * served): nothing is counted.
 */
export const countNow = async (deps: FunnelCountDeps, domain: string | undefined, counts: FunnelCounts): Promise<void> => {
  if (!domain) return;
  try {
    await deps.counters.add(domain, dayOf(deps.clock.now()), counts);
  } catch (error) {
    deps.warn('funnel count failed', { domain, counts: Object.keys(counts), error: String(error) });
  }
};
