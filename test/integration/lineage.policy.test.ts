import { beforeAll, describe, expect, it } from 'vitest';
import { type InviteHandlers, inviteHandlersWith } from '../support/policyHandlers.js';
import { api, issue, prosodyAdmin, stack, uniqueName } from '../support/stack.js';

/**
 * INVITE_DEPTH_LIMIT (issue 19's policy; the weekly allowance is test/integration/invitePolicy.test.ts's): the handlers in this process with
 * the limit set (a handler reads its configuration once, at import); the
 * tree itself is made through the shared stack's API.
 */
const PASSWORD = 'correct horse battery';
const LIMIT = 1;

let issueAs: InviteHandlers['issueAs'];
let appInvite: InviteHandlers['appInvite'];

beforeAll(async () => {
  ({ issueAs, appInvite } = await inviteHandlersWith({ INVITE_DEPTH_LIMIT: String(LIMIT) }));
});

/** root (made on the server: depth 0) -> a (depth 1) -> b (depth 2). */
const tree = async () => {
  const root = `${uniqueName('root')}@localhost`;
  const admin = prosodyAdmin();
  try {
    await admin.createAccount(root, PASSWORD);
  } finally {
    await admin.close();
  }
  const join = async (inviter: string) => {
    const username = uniqueName('d');
    const res = await api('POST', `/invites/${(await issue({ inviter })).token}/redeem`, {
      body: { username, password: PASSWORD },
      auth: false,
    });
    expect(res.status).toBe(201);
    return `${username}@localhost`;
  };
  const a = await join(root);
  const b = await join(a);
  return { root, a, b };
};

describe(`INVITE_DEPTH_LIMIT=${LIMIT}`, () => {
  it('lets the account at the limit invite and refuses the first one below it, through the API', async () => {
    const { root, a, b } = await tree();

    const answers = [await issueAs(root), await issueAs(a), await issueAs(b)];

    expect(answers.map((r) => r.status)).toEqual([201, 201, 403]);
    expect(answers[2]?.body.error).toBe('invite-depth-exceeded');
    // An admin key is the operator: not held back by the depth rule.
    expect((await issueAs(b, stack().apiKey)).status).toBe(201);
  });

  it('the same for invites created from an app (contact, and create-account without roster subscription)', async () => {
    const { a, b } = await tree();

    const allowed = await appInvite(a, { type: 'contact' });
    const refused = [await appInvite(b, { type: 'contact' }), await appInvite(b, { type: 'account', username: uniqueName('n') })];

    expect(allowed.status).toBe(201);
    expect(refused.map((r) => [r.status, r.body.error])).toEqual([
      [403, 'invite-depth-exceeded'],
      [403, 'invite-depth-exceeded'],
    ]);
  });
});
