import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../lib/invites/actor.js';
import { type Invite, inviteStatus } from '../../lib/invites/Invite.js';
import { revokeLineage } from '../../lib/lineage/containment.js';
import { type LineageRecord, newLineage } from '../../lib/lineage/Lineage.js';
import type { InviteStore, ListQuery, Page } from '../../lib/ports/InviteStore.js';
import type { LineageStore } from '../../lib/ports/LineageStore.js';

/**
 * Containment over random lineage trees: accounts join under random
 * inviters, issue invites, and random accounts are revoked (with or without
 * their subtree, dry or not, with random per-request budgets so the cursor is
 * exercised). Whatever the order, no live invite issued before a subtree
 * revoke by an account of that subtree survives it, an account's own revoke
 * leaves its invitees' invites alone, and a dry run changes nothing.
 *
 * The stores are in memory, paged the way DynamoDB pages (by key, the filter
 * after the limit's read), so invites revoked during the walk do not shift
 * the pages under it.
 */
const DOMAIN = 'example.com';
const ADMIN: Actor = { source: 'test', domains: [DOMAIN], admin: true };

class MemoryInvites implements Pick<InviteStore, 'list' | 'revoke'> {
  readonly invites = new Map<string, Invite>();

  public async list(q: ListQuery): Promise<Page<Invite>> {
    const all = [...this.invites.values()].filter((i) => i.inviter === q.inviter).sort((a, b) => a.id.localeCompare(b.id));
    const start = q.cursor === undefined ? 0 : all.findIndex((i) => i.id === q.cursor) + 1;
    const items: Invite[] = [];
    let last = start - 1;
    for (let n = start; n < all.length && items.length < q.limit; n++) {
      last = n;
      if (inviteStatus(all[n] as Invite, q.now) === 'valid') items.push(all[n] as Invite);
    }
    return { items, cursor: last >= 0 && last < all.length - 1 ? (all[last] as Invite).id : undefined };
  }

  public async revoke(id: string, now: number): Promise<Invite | undefined> {
    const invite = this.invites.get(id);
    if (invite && invite.revokedAt === undefined) invite.revokedAt = now;
    return invite;
  }
}

class MemoryLineage implements LineageStore {
  readonly records = new Map<string, LineageRecord>();

  public async get(jid: string) {
    return this.records.get(jid);
  }

  public async invitees(parent: string, page: { limit: number; cursor?: string }): Promise<Page<LineageRecord>> {
    const all = [...this.records.values()].filter((r) => r.invitedBy === parent).sort((a, b) => a.jid.localeCompare(b.jid));
    const start = page.cursor === undefined ? 0 : all.findIndex((r) => r.jid === page.cursor) + 1;
    const items = all.slice(start, start + page.limit);
    const end = start + items.length;
    return { items, cursor: end < all.length ? (items[items.length - 1] as LineageRecord).jid : undefined };
  }

  public async setStatus(): Promise<LineageRecord> {
    throw new Error('not used here');
  }

  public async recordFirstSeen(): Promise<LineageRecord> {
    throw new Error('not used here');
  }
}

type Op =
  | { kind: 'join'; parent: number }
  | { kind: 'issue'; by: number }
  | { kind: 'revoke'; of: number; subtree: boolean; dryRun: boolean; invites: number; queries: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('join' as const), parent: fc.nat() }),
  fc.record({ kind: fc.constant('issue' as const), by: fc.nat() }),
  fc.record({
    kind: fc.constant('revoke' as const),
    of: fc.nat(),
    subtree: fc.boolean(),
    dryRun: fc.boolean(),
    invites: fc.integer({ min: 1, max: 5 }),
    queries: fc.integer({ min: 1, max: 5 }),
  })
);

const snapshot = (invites: MemoryInvites) => JSON.stringify([...invites.invites.values()].map((i) => [i.id, i.revokedAt ?? null]));

describe('containment over random lineage trees (property)', () => {
  it('leaves no live invite in a revoked subtree, touches nothing outside it, and a dry run changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) => {
        const invites = new MemoryInvites();
        const lineage = new MemoryLineage();
        let now = 1_000;
        const clock = { now: () => now };
        const accounts = [`root@${DOMAIN}`];
        const parentOf = new Map<string, string>();
        const subtreeOf = (jid: string): Set<string> => {
          const out = new Set([jid]);
          for (const a of accounts) {
            for (let p = parentOf.get(a); p !== undefined; p = parentOf.get(p)) {
              if (p === jid) out.add(a);
            }
          }
          return out;
        };
        let n = 0;
        for (const step of ops) {
          now++;
          if (step.kind === 'join') {
            const parent = accounts[step.parent % accounts.length] as string;
            const jid = `u${n++}@${DOMAIN}`;
            const invite = { inviter: parent, source: 'test', id: `join${n}` } as Invite;
            lineage.records.set(jid, newLineage(jid, 'api', now, invite));
            parentOf.set(jid, parent);
            accounts.push(jid);
          } else if (step.kind === 'issue') {
            const by = accounts[step.by % accounts.length] as string;
            const id = `inv${String(n++).padStart(4, '0')}`;
            invites.invites.set(id, {
              id,
              type: 'account',
              domain: DOMAIN,
              inviter: by,
              maxUses: 1,
              uses: 0,
              pending: 0,
              expiresAt: 1_000_000,
              createdAt: now,
              groups: [],
              roles: [],
              source: 'test',
            });
          } else {
            const of = accounts[step.of % accounts.length] as string;
            const before = snapshot(invites);
            const covered = step.subtree ? subtreeOf(of) : new Set([of]);
            const liveBefore = [...invites.invites.values()].filter((i) => inviteStatus(i, now) === 'valid').map((i) => i.id);
            const deps = { store: invites, lineage, clock, limits: { invites: step.invites, queries: step.queries } };
            const answered: string[] = [];
            let cursor: string | undefined;
            let requests = 0;
            do {
              const page = await revokeLineage(deps, ADMIN, of, { subtree: step.subtree, dryRun: step.dryRun, cursor });
              expect(page.inviteIds.length).toBeLessThanOrEqual(step.invites);
              // Whose they are: each answered invite counted once, under its inviter.
              const whose = new Map<string, number>();
              for (const id of page.inviteIds) {
                const inviter = invites.invites.get(id)?.inviter as string;
                whose.set(inviter, (whose.get(inviter) ?? 0) + 1);
              }
              expect(Object.fromEntries(page.byAccount.map((a) => [a.jid, a.invites]))).toEqual(Object.fromEntries(whose));
              answered.push(...page.inviteIds);
              cursor = page.cursor ?? undefined;
              requests++;
            } while (cursor !== undefined && requests < 10_000);
            expect(cursor).toBeUndefined();
            const expected = liveBefore.filter((id) => covered.has(invites.invites.get(id)?.inviter as string));
            // Each live invite of the branch is answered exactly once, dry or not.
            expect([...answered].sort()).toEqual([...expected].sort());
            if (step.dryRun) {
              expect(snapshot(invites)).toBe(before);
            } else {
              for (const invite of invites.invites.values()) {
                const inBranch = covered.has(invite.inviter as string);
                const wasLive = liveBefore.includes(invite.id);
                if (inBranch) expect(inviteStatus(invite, now)).not.toBe('valid');
                if (!inBranch && wasLive) expect(inviteStatus(invite, now)).toBe('valid');
              }
            }
          }
        }
      }),
      { numRuns: 200 }
    );
  });
});
