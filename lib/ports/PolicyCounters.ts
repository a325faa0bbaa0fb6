/**
 * Counters of the invitation policy (lib/invites/policy.ts), shared by every
 * container: per-subject buckets (one item each) that can be summed over a
 * window with one Query, and one-time marks (a tripped registration brake).
 */
export interface CounterBucket {
  /** Epoch seconds the bucket starts at. */
  start: number;
  count: number;
}

export interface PolicyCounters {
  /** Adds `delta` (1 or -1) to the bucket `start` of `counter`; returns its count after. */
  add(counter: PolicyCounterKey, start: number, delta: number, expiresAt: number): Promise<number>;
  /** The buckets of `counter` starting from `from` to `to` (inclusive), oldest first: one Query, never a Scan. */
  buckets(counter: PolicyCounterKey, from: number, to: number): Promise<CounterBucket[]>;
  /** Records the brake of `domain` as tripped in the window `start`; true only for the first caller of that window. */
  markBrakeTripped(domain: string, start: number, at: number, data: { limit: number; windowSeconds: number }): Promise<boolean>;
}

/** What a counter counts: invites per inviter (`allowance`) or registrations per domain (`brake`). */
export type PolicyCounterKey = { kind: 'allowance' | 'brake'; subject: string };
