/**
 * The onboarding funnel (#21): per domain and ISO week, invites issued,
 * landing pages opened, registrations by channel and refusals by reason,
 * summed from the per-day counters (lib/ports/FunnelCounters.ts). Weeks are
 * ISO 8601 weeks (Monday to Sunday) of UTC days.
 */
import { InviteError } from '../errors.js';
import { assertDomainInScope, type Actor } from '../invites/actor.js';
import { JoinedVias, type JoinedVia } from '../lineage/Lineage.js';
import type { Clock } from '../ports/Clock.js';
import { dayOf, type FunnelCounters, type FunnelDay } from '../ports/FunnelCounters.js';
import { intParam } from '../queryParams.js';

export const DEFAULT_FUNNEL_WEEKS = 8;
export const MAX_FUNNEL_WEEKS = 26;

export interface FunnelWeek {
  /** ISO week, e.g. `2026-W49`. */
  week: string;
  /** Its Monday and Sunday, `yyyy-mm-dd`. */
  from: string;
  to: string;
  issued: number;
  opened: number;
  registered: Record<JoinedVia, number>;
  /** Refusals by error code; only the codes that happened. */
  refused: Record<string, number>;
}

export interface Funnel {
  domain: string;
  /** Oldest first; the last one is the current week (so far). */
  weeks: FunnelWeek[];
}

const DAY_MS = 86_400_000;
const utc = (day: string): number => Date.parse(`${day}T00:00:00Z`);
const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The ISO week of a `yyyy-mm-dd` day: its label and its Monday. */
export const isoWeekOf = (day: string): { week: string; monday: string } => {
  const ms = utc(day);
  const weekday = (new Date(ms).getUTCDay() + 6) % 7; // Monday 0 ... Sunday 6
  const monday = ms - weekday * DAY_MS;
  // The week belongs to the year of its Thursday.
  const thursday = new Date(monday + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const firstThursday = Date.UTC(year, 0, 1 + ((4 - new Date(Date.UTC(year, 0, 1)).getUTCDay() + 7) % 7));
  const number = 1 + Math.round((thursday.getTime() - firstThursday) / (7 * DAY_MS));
  return { week: `${year}-W${String(number).padStart(2, '0')}`, monday: iso(monday) };
};

const emptyWeek = (monday: string): FunnelWeek => ({
  week: isoWeekOf(monday).week,
  from: monday,
  to: iso(utc(monday) + 6 * DAY_MS),
  issued: 0,
  opened: 0,
  registered: Object.fromEntries(JoinedVias.map((v) => [v, 0])) as Record<JoinedVia, number>,
  refused: {},
});

/** The last `count` ISO weeks up to the one of `today`, oldest first, all zero. */
export const lastWeeks = (today: string, count: number): FunnelWeek[] => {
  const current = utc(isoWeekOf(today).monday);
  return Array.from({ length: count }, (_, i) => emptyWeek(iso(current - (count - 1 - i) * 7 * DAY_MS)));
};

/** Sums days into `weeks` (from lastWeeks); days outside them are left out. */
export const sumIntoWeeks = (weeks: FunnelWeek[], days: readonly FunnelDay[]): FunnelWeek[] => {
  const byMonday = new Map(weeks.map((w) => [w.from, w]));
  for (const { day, counts } of days) {
    const week = byMonday.get(isoWeekOf(day).monday);
    if (!week) continue;
    week.issued += counts.issued ?? 0;
    week.opened += counts.opened ?? 0;
    for (const via of JoinedVias) week.registered[via] += counts.registered?.[via] ?? 0;
    for (const [reason, n] of Object.entries(counts.refused ?? {})) {
      if (n) week.refused[reason] = (week.refused[reason] ?? 0) + n;
    }
  }
  return weeks;
};

export const registeredTotal = (week: Pick<FunnelWeek, 'registered'>): number =>
  JoinedVias.reduce((sum, via) => sum + week.registered[via], 0);
export const refusedTotal = (week: Pick<FunnelWeek, 'refused'>): number => Object.values(week.refused).reduce((a, b) => a + b, 0);

export interface FunnelDeps {
  counters: Pick<FunnelCounters, 'read'>;
  clock: Clock;
  /** The domains this deployment serves. */
  config: { domains: readonly string[] };
}

/**
 * The funnel of one domain over the last `weeks` ISO weeks (default 8, at
 * most 26), for a key whose scope includes the domain: one Query.
 */
export const funnelOf = async (deps: FunnelDeps, actor: Actor, input: { domain: string; weeks?: number | string }): Promise<Funnel> => {
  const weeks = intParam(input.weeks, 'weeks', 1, MAX_FUNNEL_WEEKS, DEFAULT_FUNNEL_WEEKS);
  if (!deps.config.domains.includes(input.domain)) {
    throw new InviteError('domain-not-served', `${input.domain} is not a domain this service serves`);
  }
  assertDomainInScope(actor, input.domain);
  const empty = lastWeeks(dayOf(deps.clock.now()), weeks);
  const days = await deps.counters.read(input.domain, empty[0]!.from, empty[empty.length - 1]!.to);
  return { domain: input.domain, weeks: sumIntoWeeks(empty, days) };
};
