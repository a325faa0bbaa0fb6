import { describe, expect, it } from 'vitest';
import { api, canLogin, issue, uniqueName } from '../support/stack.js';

describe('local stack', () => {
  it('issues, checks and redeems an invite over HTTP, and the account logs in', async () => {
    const invite = await issue({});
    const check = await api('GET', `/invites/${invite.token}`, { auth: false });
    expect(check.status).toBe(200);
    expect(check.body).toMatchObject({ valid: true, type: 'account', domain: 'localhost', usesLeft: 1 });
    const username = uniqueName();
    const redeem = await api('POST', `/invites/${invite.token}/redeem`, {
      auth: false,
      body: { username, password: 'correct horse battery' },
    });
    expect(redeem.status).toBe(201);
    expect(redeem.body).toEqual({ jid: `${username}@localhost` });
    expect(await canLogin(`${username}@localhost`, 'correct horse battery')).toBe(true);
  });
});
