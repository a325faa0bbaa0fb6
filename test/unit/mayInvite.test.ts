import { describe, expect, it } from 'vitest';
import { isInviteError } from '../../lib/errors.js';
import { EXTERNAL, type LineageRecord, externalLineage, newLineage } from '../../lib/lineage/Lineage.js';
import { assertMayInvite } from '../../lib/lineage/mayInvite.js';

/** The two lineage reads assertMayInvite makes, over a map; counts the first-seen writes. */
class Records {
  readonly records = new Map<string, LineageRecord>();
  writes = 0;

  public async get(jid: string) {
    return this.records.get(jid);
  }

  public async recordFirstSeen(jid: string, now: number) {
    const existing = this.records.get(jid);
    if (existing) return existing;
    this.writes++;
    const record = { ...externalLineage(jid), joinedAt: now, recorded: true };
    this.records.set(jid, record);
    return record;
  }
}

const AGE = 3600;
const T = 1_800_000_000;
const outcome = (p: Promise<void>) =>
  p.then(
    () => 'allowed',
    (e) => (isInviteError(e) ? `${e.code}:${(e.details as { reason?: string } | undefined)?.reason}` : String(e))
  );

describe('MIN_ACCOUNT_AGE_TO_INVITE (assertMayInvite)', () => {
  it('counts an account this service did not make from when it was first seen: refused until then, allowed from then on', async () => {
    const lineage = new Records();
    const elder = 'elder@example.org';

    const first = await outcome(assertMayInvite(lineage, elder, { minAccountAgeSeconds: AGE, now: T }));
    const lastRefused = await outcome(assertMayInvite(lineage, elder, { minAccountAgeSeconds: AGE, now: T + AGE - 1 }));
    const firstAllowed = await outcome(assertMayInvite(lineage, elder, { minAccountAgeSeconds: AGE, now: T + AGE }));

    expect([first, lastRefused, firstAllowed]).toEqual(['quota-exceeded:account-age', 'quota-exceeded:account-age', 'allowed']);
    // The first sighting stays the join time; later sightings write nothing.
    expect(lineage.records.get(elder)).toMatchObject({ source: EXTERNAL, joinedAt: T, invitedBy: null });
    expect(lineage.writes).toBe(1);
  });

  it('holds an account made here to its own join time, and writes no record for it', async () => {
    const lineage = new Records();
    const young = 'young@example.org';
    lineage.records.set(young, newLineage(young, 'web', T));

    expect(await outcome(assertMayInvite(lineage, young, { minAccountAgeSeconds: AGE, now: T + AGE - 1 }))).toBe(
      'quota-exceeded:account-age'
    );
    expect(await outcome(assertMayInvite(lineage, young, { minAccountAgeSeconds: AGE, now: T + AGE }))).toBe('allowed');
    expect(lineage.writes).toBe(0);
  });

  it('writes nothing when MIN_ACCOUNT_AGE_TO_INVITE is not set, and lets an unknown inviter invite', async () => {
    const lineage = new Records();

    expect(await outcome(assertMayInvite(lineage, 'elder@example.org', { now: T }))).toBe('allowed');
    expect(await outcome(assertMayInvite(lineage, 'elder@example.org', { depthLimit: 2, now: T }))).toBe('allowed');
    expect([lineage.writes, lineage.records.size]).toEqual([0, 0]);
  });
});
