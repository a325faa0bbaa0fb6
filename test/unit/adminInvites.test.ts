import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { revokeInvite, showInvite } from '../../lib/invites/adminInvites.js';
import type { Actor } from '../../lib/invites/actor.js';
import { issueInvite } from '../../lib/invites/issue.js';
import { MemoryInviteStore } from '../support/memoryInviteStore.js';

/**
 * What the admin use cases read: revoking reads the invite alone (GetItem),
 * which RevokeInviteRole and AdminConsoleRole may; only showing reads its
 * redemptions with a Query of its partition (ShowInviteRole, and the
 * console's role for the invite's page: infra/iam.yml).
 */
const T0 = 1_700_000_000;
const admin: Actor = { source: 'api-key:test', domains: ['*'], admin: true };

/** A store whose partition Query is refused, as IAM refuses it to a role without it. */
class NoPartitionQuery extends MemoryInviteStore {
  public override async getWithRedemptions(): Promise<never> {
    throw new Error('AccessDeniedException: not authorized to perform dynamodb:Query');
  }
}

describe('admin invite reads', () => {
  const config = loadConfig({ XMPP_DOMAIN: 'example.org', XMPP_ADMIN_JID: 'invitebot@example.org', XMPP_ADMIN_PASSWORD: 'local-only' });
  const clock = { now: () => T0 };

  it('revokes with a read of the invite alone, never a Query of its partition', async () => {
    const store = new NoPartitionQuery();
    const { invite } = await issueInvite({ store, clock, config }, admin, {});
    const revoked = await revokeInvite({ store, clock, config }, admin, invite.id);
    expect(revoked.revokedAt).toBe(T0);
    await expect(revokeInvite({ store, clock, config }, admin, 'A'.repeat(43))).rejects.toMatchObject({ code: 'invite-not-found' });
    await expect(showInvite({ store, clock, config }, admin, invite.id)).rejects.toThrow(/AccessDenied/);
  });

  it('keeps another domain and another key invisible to revoke, as to show', async () => {
    const store = new MemoryInviteStore();
    const { invite } = await issueInvite({ store, clock, config }, admin, {});
    const elsewhere: Actor = { source: 'api-key:other', domains: ['other.example'], admin: true };
    await expect(revokeInvite({ store, clock, config }, elsewhere, invite.id)).rejects.toMatchObject({ code: 'forbidden' });
    const quota: Actor = { source: 'api-key:quota', domains: ['example.org'], admin: false, maxLiveInvites: 5 };
    await expect(revokeInvite({ store, clock, config }, quota, invite.id)).rejects.toMatchObject({ code: 'invite-not-found' });
    expect((await showInvite({ store, clock, config }, admin, invite.id)).status).toBe('valid');
  });
});
