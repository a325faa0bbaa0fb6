/**
 * The onboarding funnel's counters (#21): one record per domain and UTC day,
 * added to atomically from every container, read over a range of days with
 * one Query. lib/stats/funnel.ts turns them into weeks.
 */
import type { JoinedVia } from '../lineage/Lineage.js';

/** Registrations by where the account was made (the lineage record's `via`). */
export type RegisteredVia = JoinedVia;

/** What happened on one domain in one day; a missing count is 0. */
export interface FunnelCounts {
  /** Invites issued (any type, any source). */
  issued?: number;
  /** Landing pages shown for a live invite (GET /i/{token}). */
  opened?: number;
  /** Accounts made, by channel. */
  registered?: Partial<Record<RegisteredVia, number>>;
  /** Redeems refused, by error code (`token-used`, `username-taken`, ...). */
  refused?: Partial<Record<string, number>>;
}

export interface FunnelDay {
  /** `yyyy-mm-dd`, UTC. */
  day: string;
  counts: FunnelCounts;
}

export interface FunnelCounters {
  /** Adds `counts` to the record of `domain` and `day` (one write). */
  add(domain: string, day: string, counts: FunnelCounts): Promise<void>;
  /**
   * As `add`, at most once per `eventId` (a stream record's id): a second call
   * with the same id within the dedupe window adds nothing. Returns false then.
   */
  addOnce(domain: string, day: string, counts: FunnelCounts, eventId: string): Promise<boolean>;
  /** The days of `domain` from `fromDay` to `toDay` (inclusive) that have counts, oldest first: one Query. */
  read(domain: string, fromDay: string, toDay: string): Promise<FunnelDay[]>;
}

/** The UTC day (`yyyy-mm-dd`) of an epoch-seconds time. */
export const dayOf = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString().slice(0, 10);
