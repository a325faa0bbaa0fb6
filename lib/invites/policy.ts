/**
 * The invitation policy, in one place for every path that issues an invite
 * or creates an account (API, signup sources, apps through the server
 * modules, the web form, open registration):
 *
 * - allowance: at most `invitesPerInviterPerWeek` invites per inviter over a
 *   rolling 7 days (hourly buckets), else 403 `quota-exceeded` saying when
 *   the next one is allowed;
 * - registration brake: at most `maxRegistrationsPerHour` new accounts per
 *   domain per clock hour, else 429 `rate-limited`; the first refusal of an
 *   hour records the trip (the table's stream turns it into the signed
 *   `registration.brake` webhook) and tells `onBrakeTripped` (the metric).
 *
 * The use cases call it: issueInvite charges the allowance right before it
 * writes the invite; redeemInvite and registerAccount pass their stores
 * through `withRegistrationBrake`, which admits a registration before the
 * claim (or the JID lock) is taken and gives the slot back when that claim
 * is refused or released (nothing was created).
 */
import { InviteError } from '../errors.js';
import type { Clock } from '../ports/Clock.js';
import type { InviteStore } from '../ports/InviteStore.js';
import type { PolicyCounterKey, PolicyCounters } from '../ports/PolicyCounters.js';
import type { RegistrationLocks } from '../ports/RegistrationLocks.js';
import type { Actor } from './actor.js';

/** The policy's own settings (lib/config.ts reads them; undefined = no limit). */
export interface PolicySettings {
  /** `INVITES_PER_INVITER_PER_WEEK`: invites per inviter over a rolling 7 days. */
  invitesPerInviterPerWeek?: number;
  /** `MAX_REGISTRATIONS_PER_HOUR`: new accounts per domain per clock hour, over every path. */
  maxRegistrationsPerHour?: number;
}

export interface PolicyDeps {
  counters: PolicyCounters;
  clock: Clock;
  settings: PolicySettings;
  /** Called once per domain and hour, when the brake first refuses a registration (the operator's metric). */
  onBrakeTripped?: (domain: string, limit: number) => void | Promise<void>;
}

export const HOUR_SECONDS = 3600;
export const WEEK_SECONDS = 7 * 24 * HOUR_SECONDS;
/** Brake counters outlive their hour a little, then TTL removes them. */
const BRAKE_GRACE_SECONDS = 60;

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const hourOf = (now: number) => now - (now % HOUR_SECONDS);

export class InvitePolicy {
  readonly #deps: PolicyDeps;

  public constructor(deps: PolicyDeps) {
    this.#deps = deps;
  }

  public get settings(): PolicySettings {
    return this.#deps.settings;
  }

  /**
   * Who an invite counts against: its inviter JID, whoever names it (an
   * admin key included); else the user an app invite was made for, or the
   * non-admin key / signup source that issued it. An admin naming no
   * inviter is exempt.
   */
  public static allowanceSubject(actor: Actor, inviter: string | undefined): string | undefined {
    if (inviter !== undefined) return inviter;
    if (actor.admin) return undefined;
    return actor.onBehalfOf ?? actor.source;
  }

  /**
   * Counts one invite against its subject's weekly allowance, or refuses it
   * (403 `quota-exceeded`, with `retryAfter` and `nextAllowedAt`). This
   * hour's bucket is incremented atomically while the earlier hours are
   * read, so parallel requests get distinct counts and never overshoot; a
   * refused one gives its count back.
   */
  public async chargeInvite(actor: Actor, invite: { inviter?: string }): Promise<void> {
    const limit = this.#deps.settings.invitesPerInviterPerWeek;
    const subject = InvitePolicy.allowanceSubject(actor, invite.inviter);
    if (limit === undefined || subject === undefined) return;
    const { counters, clock } = this.#deps;
    const now = clock.now();
    const hour = hourOf(now);
    const counter: PolicyCounterKey = { kind: 'allowance', subject };
    const expiresAt = hour + WEEK_SECONDS + HOUR_SECONDS;
    // The window: this hour and the 167 before it.
    const [count, earlier] = await Promise.all([
      counters.add(counter, hour, 1, expiresAt),
      counters.buckets(counter, hour - WEEK_SECONDS + HOUR_SECONDS, hour - HOUR_SECONDS),
    ]);
    const total = earlier.reduce((sum, b) => sum + b.count, 0) + count;
    if (total <= limit) return;
    await counters.add(counter, hour, -1, expiresAt);
    // Without this request, the oldest buckets leave the window until fewer than `limit` remain.
    let over = total - limit;
    let nextAllowedAt = hour + WEEK_SECONDS;
    for (const bucket of [...earlier, { start: hour, count: count - 1 }]) {
      over -= bucket.count;
      if (over <= 0) {
        nextAllowedAt = bucket.start + WEEK_SECONDS;
        break;
      }
    }
    const retryAfter = Math.max(1, nextAllowedAt - now);
    throw new InviteError(
      'quota-exceeded',
      `${subject} may issue at most ${limit} invites in 7 days; the next one is allowed at ${iso(nextAllowedAt)}`,
      { retryAfter, details: { limit, windowSeconds: WEEK_SECONDS, nextAllowedAt: iso(nextAllowedAt), retryAfter } }
    );
  }

  /**
   * Admits one new account on `domain` this hour, or refuses it (429
   * `rate-limited` with `retryAfter`, the end of the hour). Returns the
   * hour it was counted in (for `giveBackRegistration`), or undefined when
   * there is no brake.
   */
  public async admitRegistration(domain: string): Promise<number | undefined> {
    const limit = this.#deps.settings.maxRegistrationsPerHour;
    if (limit === undefined) return undefined;
    const { counters, clock } = this.#deps;
    const now = clock.now();
    const hour = hourOf(now);
    const counter: PolicyCounterKey = { kind: 'brake', subject: domain };
    const count = await counters.add(counter, hour, 1, hour + HOUR_SECONDS + BRAKE_GRACE_SECONDS);
    if (count <= limit) return hour;
    await counters.add(counter, hour, -1, hour + HOUR_SECONDS + BRAKE_GRACE_SECONDS);
    // Once per domain and hour, whatever the number of refused requests.
    if (await counters.markBrakeTripped(domain, hour, now, { limit, windowSeconds: HOUR_SECONDS })) {
      await this.#deps.onBrakeTripped?.(domain, limit);
    }
    const retryAfter = Math.max(1, hour + HOUR_SECONDS - now);
    throw new InviteError('rate-limited', `${domain} accepts at most ${limit} new accounts per hour; try again later`, {
      retryAfter,
      details: { limit, windowSeconds: HOUR_SECONDS, retryAfter },
    });
  }

  /** A registration admitted in `hour` created nothing: its slot comes back. */
  public async giveBackRegistration(domain: string, hour: number): Promise<void> {
    await this.#deps.counters.add({ kind: 'brake', subject: domain }, hour, -1, hour + HOUR_SECONDS + BRAKE_GRACE_SECONDS);
  }
}

/**
 * One registration attempt's slot: admitted before a claim or lock is taken,
 * given back (once) when that claim or lock is refused or released. Give-back
 * is best effort: a failure there must not hide the error being answered.
 */
const registrationSlot = (policy: InvitePolicy) => {
  let held: { domain: string; hour: number } | undefined;
  const giveBack = async () => {
    const slot = held;
    held = undefined;
    if (slot) await policy.giveBackRegistration(slot.domain, slot.hour).catch(() => undefined);
  };
  const admit = async (domain: string) => {
    await giveBack();
    const hour = await policy.admitRegistration(domain);
    if (hour !== undefined) held = { domain, hour };
  };
  /** Runs `take` (a claim or lock) within an admitted slot; gives it back if `take` fails or `keep` says nothing was taken. */
  const within = async <T>(domain: string, take: () => Promise<T>, keep: (result: T) => boolean = () => true): Promise<T> => {
    await admit(domain);
    let result: T;
    try {
      result = await take();
    } catch (e) {
      await giveBack();
      throw e;
    }
    if (!keep(result)) await giveBack();
    return result;
  };
  return { within, giveBack };
};

/** `target` with some methods replaced; the others still run on the target itself (adapters keep private fields). */
const decorate = <T extends object>(target: T, overrides: Partial<T>): T =>
  new Proxy(target, {
    get: (t, prop) => {
      if (prop in overrides) return overrides[prop as keyof T];
      const value = Reflect.get(t, prop, t);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });

const brakeClaims = (store: InviteStore, policy: InvitePolicy): InviteStore => {
  const slot = registrationSlot(policy);
  const claimUnread = store.claimUnread?.bind(store);
  return decorate(store, {
    // Only new accounts count: resets create none.
    claim: (request) =>
      request.kind === 'account'
        ? // A retry of a counted request takes no second slot.
          slot.within(
            request.invite.domain,
            () => store.claim(request),
            (r) => r.outcome === 'claimed'
          )
        : store.claim(request),
    claimUnread:
      claimUnread &&
      ((request) =>
        slot.within(
          request.domain,
          () => claimUnread(request),
          (claim) => claim !== undefined
        )),
    release: async (claim, kind, invite, options) => {
      const released = await store.release(claim, kind, invite, options);
      // This request's own claim came back (not another's abandoned one): its account was never made.
      if (released && kind === 'account' && !options?.onlyIfLeaseUnchanged) await slot.giveBack();
      return released;
    },
  });
};

const brakeLocks = (locks: RegistrationLocks, policy: InvitePolicy): RegistrationLocks => {
  const slot = registrationSlot(policy);
  return decorate(locks, {
    lock: (jid, now, leaseSeconds) => slot.within(jid.slice(jid.lastIndexOf('@') + 1), () => locks.lock(jid, now, leaseSeconds)),
    release: async (jid, token) => {
      await locks.release(jid, token);
      await slot.giveBack();
    },
  });
};

/**
 * The deps of one registration (redeem, open registration) with the brake in
 * front of its claim and lock; unchanged when there is no brake. Call it once
 * per request: the slot it admits belongs to that request.
 */
export const withRegistrationBrake = <D extends { policy?: InvitePolicy; store?: InviteStore; locks?: RegistrationLocks }>(deps: D): D => {
  const policy = deps.policy;
  if (policy?.settings.maxRegistrationsPerHour === undefined) return deps;
  return {
    ...deps,
    policy: undefined,
    ...(deps.store ? { store: brakeClaims(deps.store, policy) } : {}),
    ...(deps.locks ? { locks: brakeLocks(deps.locks, policy) } : {}),
  };
};
