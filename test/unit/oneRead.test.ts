/**
 * One read per request and each rule once (issue #22), on the in-memory
 * invite table: the landing form reads the invite once and redeem takes that
 * read (its claim still checks the item), the domain rules and the page size
 * are each one function every caller goes through.
 */
import { describe, expect, it, vi } from 'vitest';
import { isInviteError } from '../../lib/errors.js';
import type { Actor } from '../../lib/invites/actor.js';
import { listInvites, revokeInvite } from '../../lib/invites/adminInvites.js';
import { assertInviteOfDomain, servedDomain } from '../../lib/invites/domains.js';
import { issueInvite } from '../../lib/invites/issue.js';
import { redeemInvite } from '../../lib/invites/redeem.js';
import { registerAccount } from '../../lib/invites/registerAccount.js';
import { intParam } from '../../lib/queryParams.js';
import { submitInviteForm } from '../../lib/web/landing.js';
import { FakeProvisioner } from '../support/fakeProvisioner.js';
import { MemoryInviteStore, MemoryRegistrationLocks } from '../support/memoryInviteStore.js';

const DOMAIN = 'example.org';
const PASSWORD = 'correct horse battery';
const ADMIN: Actor = { source: 'unit', domains: ['*'], admin: true, allowReset: true };

const world = () => {
  const store = new MemoryInviteStore();
  const xmpp = new FakeProvisioner();
  const clock = { now: () => 1_900_000_000 };
  const config = {
    domains: [DOMAIN],
    defaultDomain: DOMAIN,
    defaultTtlSeconds: 3600,
    maxTtlSeconds: 86_400,
    baseUrl: 'https://invites.example',
    passwordMinLength: 8,
    usernameMaxLength: 64,
    protectedJids: [],
    webClients: [],
    xmpp: {},
    registrationInviteOnly: false,
  };
  const deps = { store, xmpp, clock, config, claimKey: async () => 'the claim key' };
  const issue = async () => (await issueInvite({ store, clock, config }, ADMIN, {})).view;
  return { store, xmpp, clock, config, deps, issue };
};

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (e: unknown) => (isInviteError(e) ? e.code : `not an InviteError: ${String(e)}`)
  );

describe('one read per request', () => {
  it('the landing form reads the invite once and redeem takes that read', async () => {
    const w = world();
    const { token } = await w.issue();
    const reads = vi.spyOn(w.store, 'get');
    const page = await submitInviteForm(w.deps, token, { username: 'juliet', password: PASSWORD, confirm: PASSWORD });
    expect(page.error).toBeUndefined();
    expect(page.log).toMatchObject({ jid: `juliet@${DOMAIN}`, outcome: 'created' });
    expect(reads).toHaveBeenCalledTimes(1);
    expect(w.xmpp.accounts.has(`juliet@${DOMAIN}`)).toBe(true);
  });

  it('a read that went stale (revoked since) is refused by the claim, which checks the item, and nothing is written', async () => {
    const w = world();
    const { token, id } = await w.issue();
    const read = (await w.store.get(id))!;
    await revokeInvite(w.deps, ADMIN, id);
    expect(await codeOf(redeemInvite(w.deps, token, { username: 'juliet', password: PASSWORD }, read))).toBe('token-revoked');
    expect(w.xmpp.accounts.size).toBe(0);
    expect((await w.store.get(id))!).toMatchObject({ uses: 0, pending: 0 });
  });

  it('a read used up since is refused too (the claim condition, not the read, decides)', async () => {
    const w = world();
    const { token, id } = await w.issue();
    const read = (await w.store.get(id))!;
    await redeemInvite(w.deps, token, { username: 'romeo', password: PASSWORD });
    expect(await codeOf(redeemInvite(w.deps, token, { username: 'juliet', password: PASSWORD }, read))).toBe('token-used');
    expect(w.xmpp.accounts.has(`juliet@${DOMAIN}`)).toBe(false);
  });

  it('refuses the invite of another token as a programming error', async () => {
    const w = world();
    const first = await w.issue();
    const second = await w.issue();
    const read = (await w.store.get(first.id))!;
    await expect(redeemInvite(w.deps, second.token, { username: 'juliet', password: PASSWORD }, read)).rejects.toThrow(/not the token's/);
    expect(w.xmpp.accounts.size).toBe(0);
  });
});

describe('each domain rule once', () => {
  it('servedDomain: the default when none is named, normalized, domain-not-served otherwise', () => {
    const config = { domains: [DOMAIN], defaultDomain: DOMAIN };
    expect(servedDomain(config, undefined)).toBe(DOMAIN);
    expect(servedDomain(config, 'Example.ORG')).toBe(DOMAIN);
    expect(() => servedDomain(config, 'evil.example')).toThrow(expect.objectContaining({ code: 'domain-not-served' }));
  });

  it('issue, open registration and the list all answer domain-not-served through it', async () => {
    const w = world();
    expect(await codeOf(issueInvite(w.deps, ADMIN, { domain: 'evil.example' }))).toBe('domain-not-served');
    const locks = new MemoryRegistrationLocks();
    expect(await codeOf(registerAccount({ ...w.deps, locks }, { username: 'a', password: PASSWORD, domain: 'evil.example' }))).toBe(
      'domain-not-served'
    );
    expect(await codeOf(listInvites(w.deps, ADMIN, { domain: 'evil.example' }))).toBe('domain-not-served');
  });

  it('assertInviteOfDomain: an invite of another domain is no invite (token-invalid)', async () => {
    const w = world();
    const { id } = await w.issue();
    const invite = (await w.store.get(id))!;
    expect(() => assertInviteOfDomain(invite, DOMAIN)).not.toThrow();
    expect(() => assertInviteOfDomain(invite, 'other.example')).toThrow(expect.objectContaining({ code: 'token-invalid' }));
  });
});

describe('the page size, checked once (listInvites, showLineage)', () => {
  it('intParam: digits or a number in range, the fallback when absent, invalid-request otherwise', () => {
    expect(intParam(undefined, 'depth', 1, 5, 1)).toBe(1);
    expect(intParam('3', 'depth', 1, 5, 1)).toBe(3);
    expect(intParam(5, 'depth', 1, 5, 1)).toBe(5);
    for (const raw of ['6', '0', '-1', '1e1', '0x2', ' 2', '', 1.5]) {
      expect(() => intParam(raw, 'depth', 1, 5, 1), String(raw)).toThrow(
        expect.objectContaining({ code: 'invalid-request', message: 'depth must be an integer from 1 to 5' })
      );
    }
  });

  it('takes the query string digits or a number from 1 to 200, 50 by default', async () => {
    const w = world();
    for (let i = 0; i < 3; i++) await w.issue();
    expect((await listInvites(w.deps, ADMIN, {})).items).toHaveLength(3);
    expect((await listInvites(w.deps, ADMIN, { limit: '2' })).items).toHaveLength(2);
    expect((await listInvites(w.deps, ADMIN, { limit: 1 })).items).toHaveLength(1);
    for (const limit of ['0', '201', '1.5', 'abc', '12345', '', ' 5', 0, 201, 1.5]) {
      expect(await codeOf(listInvites(w.deps, ADMIN, { limit })), String(limit)).toBe('invalid-request');
    }
  });
});
