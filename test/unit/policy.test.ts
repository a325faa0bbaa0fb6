import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { changesFromStreamRecord } from '../../lib/adapters/dynamodb/inviteStreamRecords.js';
import { brakeTripKey } from '../../lib/adapters/dynamodb/tableKeys.js';
import { InviteError } from '../../lib/errors.js';
import type { Actor } from '../../lib/invites/actor.js';
import type { Invite } from '../../lib/invites/Invite.js';
import { HOUR_SECONDS, InvitePolicy, WEEK_SECONDS, withRegistrationBrake } from '../../lib/invites/policy.js';
import type { ClaimRecord, ClaimRequest, ClaimResult, InviteStore, UnreadClaimRequest } from '../../lib/ports/InviteStore.js';
import type { CounterBucket, PolicyCounterKey, PolicyCounters } from '../../lib/ports/PolicyCounters.js';
import type { RegistrationLocks } from '../../lib/ports/RegistrationLocks.js';
import { toWebhookEvent } from '../../lib/webhooks/events.js';
import { wants } from '../../lib/webhooks/notify.js';

/** The counters in memory, as DynamoDB would keep them. */
class MemoryCounters implements PolicyCounters {
  readonly counts = new Map<string, number>();
  readonly trips: { domain: string; start: number }[] = [];
  #key = (c: PolicyCounterKey, start: number) => `${c.kind}|${c.subject}|${start}`;
  async add(c: PolicyCounterKey, start: number, delta: number): Promise<number> {
    const next = (this.counts.get(this.#key(c, start)) ?? 0) + delta;
    this.counts.set(this.#key(c, start), next);
    return next;
  }
  async buckets(c: PolicyCounterKey, from: number, to: number): Promise<CounterBucket[]> {
    return [...this.counts.entries()]
      .map(([k, count]) => ({ parts: k.split('|'), count }))
      .filter(({ parts }) => parts[0] === c.kind && parts[1] === c.subject)
      .map(({ parts, count }) => ({ start: Number(parts[2]), count }))
      .filter((b) => b.start >= from && b.start <= to)
      .sort((a, b) => a.start - b.start);
  }
  async markBrakeTripped(domain: string, start: number): Promise<boolean> {
    if (this.trips.some((t) => t.domain === domain && t.start === start)) return false;
    this.trips.push({ domain, start });
    return true;
  }
  brakeCount(domain: string, hour: number) {
    return this.counts.get(`brake|${domain}|${hour}`) ?? 0;
  }
}

const H0 = 1_800_000_000 - (1_800_000_000 % HOUR_SECONDS);
const setup = (settings: ConstructorParameters<typeof InvitePolicy>[0]['settings']) => {
  const counters = new MemoryCounters();
  const clock = { t: H0 + 60, now: () => clock.t };
  const tripped = vi.fn();
  const policy = new InvitePolicy({ counters, clock, settings, onBrakeTripped: tripped });
  return { counters, clock, policy, tripped };
};

const keyActor: Actor = { source: 'api-key:k1', domains: ['example.com'], admin: false };
const admin: Actor = { source: 'api-key:admin', domains: ['*'], admin: true };

const refusal = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err
  );
  expect(e).toBeInstanceOf(InviteError);
  return e as InviteError;
};

describe('Class: InvitePolicy, weekly allowance', () => {
  it('counts the inviter whoever names it, else the user or key; an admin naming none is exempt', () => {
    expect(InvitePolicy.allowanceSubject(admin, 'romeo@example.com')).toBe('romeo@example.com');
    expect(InvitePolicy.allowanceSubject(keyActor, 'romeo@example.com')).toBe('romeo@example.com');
    expect(InvitePolicy.allowanceSubject(admin, undefined)).toBeUndefined();
    expect(InvitePolicy.allowanceSubject(keyActor, undefined)).toBe('api-key:k1');
    expect(
      InvitePolicy.allowanceSubject(
        { ...keyActor, source: 'xmpp-server:s:juliet@example.com', onBehalfOf: 'juliet@example.com' },
        undefined
      )
    ).toBe('juliet@example.com');
  });

  it('allows the limit-th invite, refuses the next with when the oldest counted one leaves the 7-day window', async () => {
    const { policy, clock } = setup({ invitesPerInviterPerWeek: 3 });
    const inviter = 'romeo@example.com';
    await policy.chargeInvite(keyActor, { inviter });
    clock.t = H0 + 5 * HOUR_SECONDS;
    await policy.chargeInvite(keyActor, { inviter });
    await policy.chargeInvite(keyActor, { inviter });
    clock.t = H0 + 10 * HOUR_SECONDS + 7;
    const e = await refusal(policy.chargeInvite(keyActor, { inviter }));
    expect(e.code).toBe('quota-exceeded');
    expect(e.details).toEqual({
      limit: 3,
      windowSeconds: WEEK_SECONDS,
      nextAllowedAt: new Date((H0 + WEEK_SECONDS) * 1000).toISOString(),
      retryAfter: H0 + WEEK_SECONDS - clock.t,
    });
    expect(e.retryAfter).toBe(H0 + WEEK_SECONDS - clock.t);
    // The last second of the first hour's week: still refused; the next, allowed once.
    clock.t = H0 + WEEK_SECONDS - 1;
    expect((await refusal(policy.chargeInvite(keyActor, { inviter }))).code).toBe('quota-exceeded');
    clock.t = H0 + WEEK_SECONDS;
    await policy.chargeInvite(keyActor, { inviter });
    // Two invites of the same hour leave together: the next is a week after that hour.
    const next = await refusal(policy.chargeInvite(keyActor, { inviter }));
    expect(next.details?.nextAllowedAt).toBe(new Date((H0 + 5 * HOUR_SECONDS + WEEK_SECONDS) * 1000).toISOString());
  });

  it('never lets parallel invites of one inviter past the limit, nor refuses those within it', async () => {
    const { policy, counters } = setup({ invitesPerInviterPerWeek: 2 });
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map(() => policy.chargeInvite(keyActor, { inviter: 'romeo@example.com' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(counters.counts.get(`allowance|romeo@example.com|${H0}`)).toBe(2);
  });

  it('does not count a refused invite, nor anything without a limit or for an exempt admin', async () => {
    const { policy, counters } = setup({ invitesPerInviterPerWeek: 1 });
    await policy.chargeInvite(keyActor, {});
    await refusal(policy.chargeInvite(keyActor, {}));
    await refusal(policy.chargeInvite(keyActor, {}));
    expect(counters.counts.get(`allowance|api-key:k1|${H0}`)).toBe(1);
    for (let i = 0; i < 5; i++) await policy.chargeInvite(admin, {});
    const open = setup({});
    for (let i = 0; i < 5; i++) await open.policy.chargeInvite(keyActor, { inviter: 'romeo@example.com' });
    expect(open.counters.counts.size).toBe(0);
  });
});

describe('Class: InvitePolicy, registration brake', () => {
  it('admits the limit-th registration, refuses the next until the hour ends, and tells the operator once', async () => {
    const { policy, clock, tripped, counters } = setup({ maxRegistrationsPerHour: 2 });
    expect(await policy.admitRegistration('example.com')).toBe(H0);
    expect(await policy.admitRegistration('example.com')).toBe(H0);
    const e = await refusal(policy.admitRegistration('example.com'));
    expect(e.code).toBe('rate-limited');
    expect(e.retryAfter).toBe(H0 + HOUR_SECONDS - clock.t);
    await refusal(policy.admitRegistration('example.com'));
    expect(tripped).toHaveBeenCalledTimes(1);
    expect(tripped).toHaveBeenCalledWith('example.com', 2);
    expect(counters.brakeCount('example.com', H0)).toBe(2);
    // Another domain has its own budget; the next hour starts afresh (and may trip again).
    expect(await policy.admitRegistration('other.example')).toBe(H0);
    clock.t = H0 + HOUR_SECONDS;
    expect(await policy.admitRegistration('example.com')).toBe(H0 + HOUR_SECONDS);
  });
});

const invite = { id: 'i1', domain: 'example.com' } as Invite;
const claimRecord = {} as ClaimRecord;
/** A store whose claims answer what the test says; only the methods the brake wraps. */
const fakeStore = (claim: () => Promise<ClaimResult>, claimUnread?: () => Promise<ClaimRecord | undefined>) =>
  ({
    claim: vi.fn(claim),
    claimUnread: claimUnread && vi.fn(claimUnread),
    release: vi.fn(async () => true),
    get: vi.fn(async () => invite),
  }) as unknown as InviteStore;

describe('Function: withRegistrationBrake', () => {
  const request = (kind: 'account' | 'reset' = 'account') => ({ invite, kind, jid: 'a@example.com' }) as ClaimRequest;

  it('changes nothing without a brake', () => {
    const deps = { store: fakeStore(async () => ({ outcome: 'claimed', claim: claimRecord })), policy: setup({}).policy };
    expect(withRegistrationBrake(deps)).toBe(deps);
    expect(withRegistrationBrake({ store: deps.store })).toEqual({ store: deps.store });
  });

  it('keeps the slot of a claim taken, gives it back when the claim is refused, a retry, or released', async () => {
    const { policy, counters } = setup({ maxRegistrationsPerHour: 5 });
    const count = () => counters.brakeCount('example.com', H0);
    const taken = withRegistrationBrake({ policy, store: fakeStore(async () => ({ outcome: 'claimed', claim: claimRecord })) });
    await taken.store.claim(request());
    expect(count()).toBe(1);
    // This request's own claim released (its account was never made): the slot comes back.
    await taken.store.release(claimRecord, 'account', invite);
    expect(count()).toBe(0);

    const refused = withRegistrationBrake({
      policy,
      store: fakeStore(async () => {
        throw new InviteError('username-taken', 'taken');
      }),
    });
    await refusal(refused.store.claim(request()));
    expect(count()).toBe(0);

    const retry = withRegistrationBrake({ policy, store: fakeStore(async () => ({ outcome: 'existing', claim: claimRecord })) });
    await retry.store.claim(request());
    expect(count()).toBe(0);

    const unread = withRegistrationBrake({
      policy,
      store: fakeStore(
        async () => ({ outcome: 'claimed', claim: claimRecord }),
        async () => undefined
      ),
    });
    expect(await unread.store.claimUnread!({ domain: 'example.com' } as UnreadClaimRequest)).toBeUndefined();
    expect(count()).toBe(0);

    // Resets create no account; a stranger's abandoned claim released gives back nothing of ours.
    const other = withRegistrationBrake({ policy, store: fakeStore(async () => ({ outcome: 'claimed', claim: claimRecord })) });
    await other.store.claim(request('reset'));
    expect(count()).toBe(0);
    await other.store.claim(request());
    await other.store.release(claimRecord, 'account', invite, { onlyIfLeaseUnchanged: true });
    expect(count()).toBe(1);
    // The other methods still reach the store.
    expect(await other.store.get('i1')).toBe(invite);
  });

  it('refuses before the claim when the brake is full: the store is never asked', async () => {
    const { policy } = setup({ maxRegistrationsPerHour: 1 });
    await policy.admitRegistration('example.com');
    const store = fakeStore(async () => ({ outcome: 'claimed', claim: claimRecord }));
    const braked = withRegistrationBrake({ policy, store });
    expect((await refusal(braked.store.claim(request()))).code).toBe('rate-limited');
    expect(store.claim).not.toHaveBeenCalled();
  });

  it('counts open registrations at the JID lock and gives the slot back when the lock is refused or released', async () => {
    const { policy, counters } = setup({ maxRegistrationsPerHour: 5 });
    let free = true;
    const locks: RegistrationLocks = {
      lock: vi.fn(async () => {
        if (!free) throw new InviteError('username-taken', 'taken');
        return 'lock';
      }),
      complete: vi.fn(async () => undefined),
      release: vi.fn(async () => undefined),
    };
    const first = withRegistrationBrake({ policy, locks });
    await first.locks.lock('a@example.com', H0, 30);
    await first.locks.complete('a@example.com', 'lock', H0);
    expect(counters.brakeCount('example.com', H0)).toBe(1);
    const second = withRegistrationBrake({ policy, locks });
    await second.locks.lock('b@example.com', H0, 30);
    await second.locks.release('b@example.com', 'lock');
    free = false;
    await refusal(withRegistrationBrake({ policy, locks }).locks.lock('c@example.com', H0, 30));
    expect(counters.brakeCount('example.com', H0)).toBe(1);
  });
});

describe('registration.brake: from the trip record on the stream to the webhook', () => {
  const trip = {
    ...brakeTripKey('example.com', H0),
    kind: 'brake-trip',
    domain: 'example.com',
    windowStart: H0,
    windowSeconds: 3600,
    limit: 50,
    at: H0 + 61,
  };

  it('makes one event of the trip record insert, and none of the brake counters', () => {
    const changes = changesFromStreamRecord({ eventID: 'e9', eventName: 'INSERT', dynamodb: { NewImage: marshall(trip) } });
    expect(changes).toEqual([
      {
        type: 'registration.brake',
        changeId: 'e9',
        at: H0 + 61,
        brake: { domain: 'example.com', limit: 50, windowStart: H0, windowSeconds: 3600 },
      },
    ]);
    const event = toWebhookEvent(changes[0]!);
    expect(event).toEqual({
      id: 'e9',
      type: 'registration.brake',
      occurredAt: new Date((H0 + 61) * 1000).toISOString(),
      data: {
        brake: {
          domain: 'example.com',
          limit: 50,
          windowSeconds: 3600,
          windowStart: new Date(H0 * 1000).toISOString(),
          windowEnd: new Date((H0 + 3600) * 1000).toISOString(),
        },
      },
    });
    // Endpoints limited to some domains get it for those domains only.
    const endpoint = { name: 'ops', url: 'https://ops.example', events: ['registration.brake' as const] };
    expect(wants(endpoint, event)).toBe(true);
    expect(wants({ ...endpoint, domains: ['other.example'] }, event)).toBe(false);
    expect(wants({ ...endpoint, events: ['invite.created'] }, event)).toBe(false);
    const counter = { pk: 'BRAKE#example.com', sk: `H#${H0}`, count: 3 };
    expect(changesFromStreamRecord({ eventID: 'e10', eventName: 'INSERT', dynamodb: { NewImage: marshall(counter) } })).toEqual([]);
    expect(changesFromStreamRecord({ eventID: 'e11', eventName: 'MODIFY', dynamodb: { NewImage: marshall(trip) } })).toEqual([]);
  });
});
