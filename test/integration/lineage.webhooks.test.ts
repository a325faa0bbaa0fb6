import { randomBytes } from 'node:crypto';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainmentEventData, WebhookEvent } from '../../lib/webhooks/events.js';
import { verifySignature } from '../../lib/webhooks/signature.js';
import { startStreamPoller, type StreamPoller } from '../../scripts/local/streamPoller.js';
import { api, issue, prosodyAdmin, uniqueName, useStackEnv } from '../support/stack.js';
import { type Received, startReceiver } from '../support/webhooks.js';

/**
 * Containment actions as signed webhook events, on the invite events' path:
 * the API -> a NOTE# item -> DynamoDB Local's stream -> the local poller ->
 * functions/notifier.ts -> a signed POST to a receiver on 127.0.0.1.
 */
const secret = randomBytes(24).toString('hex');
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let poller: StreamPoller;

const parse = (r: Received) => JSON.parse(r.body) as WebhookEvent & { data: ContainmentEventData };

const delivered = async (type: string, jid: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = receiver.received.filter((r) => parse(r).type === type && parse(r).data.account?.jid === jid);
    if (found.length > 0) return found;
    if (Date.now() > deadline) throw new Error(`no ${type} event for ${jid}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

const newAccount = async () => {
  const jid = `${uniqueName('contained')}@localhost`;
  const admin = prosodyAdmin();
  try {
    await admin.createAccount(jid, 'correct horse battery');
  } finally {
    await admin.close();
  }
  return jid;
};

beforeAll(async () => {
  const { env } = useStackEnv();
  receiver = await startReceiver(() => 204);
  Object.assign(process.env, {
    WEBHOOK_ENDPOINTS: JSON.stringify({
      ops: { url: receiver.url, secret, events: ['lineage.revoked', 'account.suspended', 'account.unsuspended'] },
    }),
  });
  const { handler } = await import('../../functions/notifier.js');
  const context = { functionName: 'notifier', awsRequestId: 'local' } as Context;
  poller = await startStreamPoller({
    endpoint: env.AWS_ENDPOINT_URL_DYNAMODB as string,
    tableName: env.INVITES_TABLE as string,
    handler: (event: DynamoDBStreamEvent) => handler(event, context),
    intervalMs: 100,
  });
});

afterAll(async () => {
  await poller?.stop();
  await receiver?.close();
});

describe('containment events (signed webhooks)', () => {
  it('announces a subtree revoke as lineage.revoked and a suspension as account.suspended, signed, with the revoked invites', async () => {
    const jid = await newAccount();
    const first = await issue({ inviter: jid });
    const second = await issue({ inviter: jid });
    const dry = await api('POST', `/lineage/${encodeURIComponent(jid)}/revoke`, { body: { subtree: true, dryRun: true } });
    expect(dry.body.revoked).toBe(2);

    expect((await api('POST', `/lineage/${encodeURIComponent(jid)}/revoke`, { body: { subtree: true } })).body.revoked).toBe(2);
    const third = await issue({ inviter: jid });
    expect((await api('POST', `/lineage/${encodeURIComponent(jid)}/suspend`)).body.revoked).toBe(1);
    expect((await api('POST', `/lineage/${encodeURIComponent(jid)}/unsuspend`)).body.status).toBe('active');

    const [revoked] = await delivered('lineage.revoked', jid);
    const [suspended] = await delivered('account.suspended', jid);
    const [lifted] = await delivered('account.unsuspended', jid);
    for (const r of [revoked!, suspended!, lifted!]) {
      expect(
        verifySignature({ header: r.headers['x-signature'] as string, body: r.body, secrets: [secret], now: Math.floor(Date.now() / 1000) })
      ).toBeGreaterThan(0);
      expect(r.headers['x-event-type']).toBe(parse(r).type);
    }
    expect(parse(revoked!).data).toMatchObject({
      account: { jid, domain: 'localhost' },
      actor: expect.stringMatching(/^api-key:/),
      subtree: true,
      complete: true,
    });
    expect([...parse(revoked!).data.revokedInvites].sort()).toEqual([first.id, second.id].sort());
    expect(parse(suspended!).data.revokedInvites).toEqual([third.id]);
    // The dry run announced nothing: one lineage.revoked event for this account.
    expect((await delivered('lineage.revoked', jid)).length).toBe(1);
  });
});
