import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBAdminAudit } from '../../lib/adapters/dynamodb/DynamoDBAdminAudit.js';
import { keySource } from '../../lib/apiKeys/apiKeys.js';
import { sha256 } from '../../lib/token.js';
import type { AuditEntry } from '../../lib/ports/AdminAudit.js';
import { api, documentClientForStack, issue, stack, uniqueName, useStackEnv } from '../support/stack.js';

/**
 * The admin audit trail (#21): entries on DynamoDB Local, newest first and
 * paged; the API's revoke, suspend and unsuspend write theirs with the
 * acting key. The console's own entries are checked by its browser tests.
 */
const trail = () => new DynamoDBAdminAudit({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
const entry = (domain: string, at: number, action: string): AuditEntry => ({ at, domain, action, actor: 'cli', via: 'cli' });

/** The newest entries of a domain that match, however many other test files wrote meanwhile. */
const findEntries = async (domain: string, match: (e: AuditEntry) => boolean): Promise<AuditEntry[]> =>
  (await trail().list(domain, { limit: 100 })).items.filter(match);

beforeAll(() => {
  useStackEnv();
});

describe('DynamoDBAdminAudit', () => {
  it('lists one domain newest first, a page at a time, and nothing of another domain', async () => {
    const domain = `${uniqueName('audit')}.example`;
    await trail().record(entry(domain, 1_700_000_000, 'first'));
    await trail().record(entry(domain, 1_700_000_100, 'second'));
    await trail().record(entry(domain, 1_700_000_200, 'third'));
    await trail().record(entry(`other-${domain}`, 1_700_000_300, 'elsewhere'));

    const one = await trail().list(domain, { limit: 2 });
    expect(one.items.map((e) => e.action)).toEqual(['third', 'second']);
    expect(one.cursor).toBeDefined();
    const two = await trail().list(domain, { limit: 2, cursor: one.cursor });
    expect(two.items.map((e) => e.action)).toEqual(['first']);
    expect(two.items[0]).toEqual(entry(domain, 1_700_000_000, 'first'));
  });

  it('keeps two actions of the same second', async () => {
    const domain = `${uniqueName('audit')}.example`;
    await Promise.all([trail().record(entry(domain, 1_700_000_000, 'a')), trail().record(entry(domain, 1_700_000_000, 'b'))]);
    expect((await trail().list(domain)).items.map((e) => e.action).sort()).toEqual(['a', 'b']);
  });

  it('refuses a cursor it did not make', async () => {
    await expect(trail().list('localhost', { cursor: 'INV#x' })).rejects.toMatchObject({ code: 'invalid-request' });
  });
});

describe('the API writes its admin actions to the trail', () => {
  const actor = () => keySource({ id: sha256(stack().apiKey), kind: 'api' });

  it('DELETE /invites/{id}: invite.revoked, with the key and the invite in words, never its id', async () => {
    const username = uniqueName('audited');
    const invite = await issue({ domain: 'localhost', username });
    expect((await api('DELETE', `/invites/${invite.id}`)).status).toBe(204);
    const [found] = await findEntries('localhost', (e) => e.subject === `account invite for ${username}`);
    expect(found).toMatchObject({ action: 'invite.revoked', actor: actor(), actorName: 'development', via: 'api', domain: 'localhost' });
    expect(JSON.stringify(found)).not.toContain(invite.id);
    expect(JSON.stringify(found)).not.toContain(invite.token);
  });

  it('POST /lineage/{jid}/suspend and /unsuspend: account.suspended and account.unsuspended', async () => {
    const jid = `${uniqueName('suspect')}@localhost`;
    expect((await api('POST', `/lineage/${encodeURIComponent(jid)}/suspend`)).status).toBe(200);
    expect((await api('POST', `/lineage/${encodeURIComponent(jid)}/unsuspend`)).status).toBe(200);
    const actions = (await findEntries('localhost', (e) => e.subject === jid)).map((e) => [e.action, e.via, e.actor]);
    expect(actions).toEqual([
      ['account.unsuspended', 'api', actor()],
      ['account.suspended', 'api', actor()],
    ]);
  });

  it('a dry run of POST /lineage/{jid}/revoke writes nothing; the revoke writes lineage.revoked', async () => {
    const jid = `${uniqueName('parent')}@localhost`;
    await issue({ domain: 'localhost', inviter: jid, type: 'contact' });
    const path = `/lineage/${encodeURIComponent(jid)}/revoke`;
    expect((await api('POST', path, { body: { dryRun: true } })).status).toBe(200);
    expect(await findEntries('localhost', (e) => e.subject === jid)).toEqual([]);
    expect((await api('POST', path, { body: {} })).status).toBe(200);
    const [found] = await findEntries('localhost', (e) => e.subject === jid);
    expect(found).toMatchObject({ action: 'lineage.revoked', via: 'api', detail: { subtree: false, revoked: 1, complete: true } });
  });
});
