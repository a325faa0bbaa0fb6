import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { isInviteError } from '../../lib/errors.js';
import { issueInvite } from '../../lib/invites/issue.js';
import { revokeSignupSourceInvites, signupInviteSource } from '../../lib/lineage/containment.js';
import type { SignupSource } from '../../lib/webhooks/settings.js';
import { webhookActor } from '../../lib/webhooks/signup.js';
import { MemoryInviteStore } from '../support/memoryInviteStore.js';

/** `invites-admin sources revoke-invites NAME` (issue 19): a removed or abused signup form's live invites, by source. */
const T0 = 1_700_000_000;
const source: SignupSource = { type: 'account', fields: { eventId: 'id' }, groups: [], roles: [], maxUses: 1, maxLiveInvites: 500 };

const world = () => {
  const store = new MemoryInviteStore();
  const clock = { t: T0, now: () => clock.t };
  const config = loadConfig({ XMPP_DOMAIN: 'example.org', XMPP_ADMIN_JID: 'invitebot@example.org', XMPP_ADMIN_PASSWORD: 'local-only' });
  const issueAs = async (name: string, ttlSeconds = 3600) =>
    (await issueInvite({ store, clock, config }, webhookActor(name, source, 'example.org'), { ttlSeconds })).invite;
  return { store, clock, config, issueAs };
};

describe('revokeSignupSourceInvites', () => {
  it('names invites the way the signup webhook issues them', () => {
    expect(webhookActor('form', source, 'example.org').source).toBe(signupInviteSource('form'));
  });

  it('revokes every live invite of the source across pages, and only those; a dry run changes nothing', async () => {
    const { store, clock, issueAs } = world();
    const mine: string[] = [];
    for (let i = 0; i < 230; i++) mine.push((await issueAs('form')).id);
    const expired = await issueAs('form', 60);
    const revokedBefore = await issueAs('form');
    await store.revoke(revokedBefore.id, clock.now());
    const other = await issueAs('other-form');
    clock.t += 120;

    const dry = await revokeSignupSourceInvites({ store, clock }, 'form', { dryRun: true });
    const liveAfterDry = (await store.list({ source: 'webhook:form', status: 'valid', limit: 1000, now: clock.now() })).items.length;
    const revoked = await revokeSignupSourceInvites({ store, clock }, 'form');
    const again = await revokeSignupSourceInvites({ store, clock }, 'form');

    expect([...dry].sort()).toEqual([...mine].sort());
    expect(liveAfterDry).toBe(230);
    expect([...revoked].sort()).toEqual([...mine].sort());
    expect(again).toEqual([]);
    for (const id of mine) expect((await store.get(id))?.revokedAt).toBe(clock.now());
    expect((await store.get(expired.id))?.revokedAt).toBeUndefined();
    expect((await store.get(other.id))?.revokedAt).toBeUndefined();
  });

  it('refuses a name no signup source can have, touching nothing', async () => {
    const { store, clock, issueAs } = world();
    const invite = await issueAs('form');
    const error = await revokeSignupSourceInvites({ store, clock }, 'form:x').catch((e: unknown) => e);
    expect(isInviteError(error) && error.code).toBe('invalid-request');
    expect((await store.get(invite.id))?.revokedAt).toBeUndefined();
  });
});
