import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBAdminAudit } from '../../lib/adapters/dynamodb/DynamoDBAdminAudit.js';
import { consoleHttp, csrfOf, signInWithForm, waitForConsole } from '../support/console.js';
import { api, documentClientForStack, stack, uniqueName, useStackEnv } from '../support/stack.js';

/**
 * The console's create form runs the API's issue use case, XMPP server
 * included: a preset username that exists on the stack's Prosody is refused
 * at issue (409 username-taken), as on POST /invites; a created invite is in
 * the audit trail with the acting key, by the console.
 */
const { get, post } = consoleHttp([]);

let cookie: string;
let csrf: string;

beforeAll(async () => {
  useStackEnv();
  await waitForConsole();
  cookie = await signInWithForm();
  csrf = csrfOf((await get('/admin/invites', cookie)).text);
  expect(csrf).toBeDefined();
}, 180_000);

describe('console create form, against the XMPP server', () => {
  it('refuses a preset username that exists on the server, as the API does, and issues nothing', async () => {
    // admin@localhost is the stack's provisioning account: it exists on Prosody.
    const viaApi = await api('POST', '/invites', { body: { domain: 'localhost', username: 'admin' } });
    expect(viaApi.status).toBe(409);
    expect(viaApi.body.error).toBe('username-taken');
    const note = uniqueName('taken-');
    const { res, text } = await post('/admin/invites', { csrf, type: 'account', domain: 'localhost', username: 'admin', note }, cookie);
    expect(res.status).toBe(409);
    expect(text).toContain('data-error="create"');
    const listed = await api('GET', '/invites?domain=localhost&status=valid&limit=200');
    expect(listed.body.items.some((i: { note?: string }) => i.note === note)).toBe(false);
  });

  it('writes a created invite to the audit trail with the acting key, by the console', async () => {
    const username = uniqueName('console-');
    const { res } = await post('/admin/invites', { csrf, type: 'account', domain: 'localhost', username }, cookie);
    expect(res.status).toBe(201);
    const trail = new DynamoDBAdminAudit({ tableName: stack().env.INVITES_TABLE as string, client: documentClientForStack() });
    const entries = (await trail.list('localhost', { limit: 100 })).items.filter((e) => e.subject === `account invite for ${username}`);
    expect(entries).toMatchObject([{ action: 'invite.created', via: 'console', actorName: 'development', domain: 'localhost' }]);
  });
});
