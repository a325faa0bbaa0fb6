import { randomBytes } from 'node:crypto';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBDeadLetter } from '../../lib/adapters/dynamodb/DynamoDBDeadLetter.js';
import type { InviteEventData, WebhookEvent } from '../../lib/webhooks/events.js';
import { verifySignature } from '../../lib/webhooks/signature.js';
import { startStreamPoller, type StreamPoller } from '../../scripts/local/streamPoller.js';
import { api, documentClientForStack, issue, uniqueName, useStackEnv } from '../support/stack.js';
import { startReceiver, type Received } from '../support/webhooks.js';

/**
 * The real path: writes through the API -> DynamoDB Local's stream -> the
 * local poller (what Lambda's event source mapping does) -> functions/notifier.ts
 * -> signed POSTs to receivers on 127.0.0.1 -> dead letters in the table.
 */
const secrets = { ok: randomBytes(24).toString('hex'), flaky: randomBytes(24).toString('hex'), down: randomBytes(24).toString('hex') };
const receivers = {} as Record<keyof typeof secrets, Awaited<ReturnType<typeof startReceiver>>>;
let poller: StreamPoller;
let tableName: string;

/**
 * DynamoDB Local does not run TTL deletions in test time (none within 7
 * minutes here), so an invite's "expiry" is a real DeleteItem whose REMOVE
 * record gets the userIdentity that AWS sets on TTL deletions.
 */
const ttlDeleted = new Set<string>();
const markTtl = (record: DynamoDBRecord): DynamoDBRecord =>
  record.eventName === 'REMOVE' && ttlDeleted.has(record.dynamodb?.Keys?.pk?.S ?? '')
    ? { ...record, userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } }
    : record;

const parse = (r: Received) => JSON.parse(r.body) as WebhookEvent & { data: InviteEventData };
const eventsFor = (receiver: keyof typeof secrets, inviteId: string, type?: string) =>
  receivers[receiver].received.filter((r) => {
    const e = parse(r);
    // Other events (registration.brake) carry no invite.
    return e.data.invite?.id === inviteId && (type === undefined || e.type === type);
  });

const waitFor = async <T>(what: string, get: () => T | undefined | false | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

const keysDeep = (value: unknown): string[] =>
  typeof value !== 'object' || value === null ? [] : Object.entries(value).flatMap(([k, v]) => [k, ...keysDeep(v)]);

const expectSignedBy = (r: Received, secret: string) => {
  const t = verifySignature({
    header: r.headers['x-signature'] as string,
    body: r.body,
    secrets: [secret],
    now: Math.floor(Date.now() / 1000),
  });
  expect(t).toBeGreaterThan(0);
  expect(r.headers['content-type']).toBe('application/json');
  expect(r.headers['x-event-id']).toBe(parse(r).id);
  expect(r.headers['x-event-type']).toBe(parse(r).type);
};

/** The first `type` event of the invite at the `ok` receiver, once it arrives, checked as signed. */
const signedDelivery = async (type: string, inviteId: string) => {
  const [delivery] = await waitFor(type, () => {
    const found = eventsFor('ok', inviteId, type);
    return found.length > 0 && found;
  });
  expectSignedBy(delivery!, secrets.ok);
  return { delivery: delivery!, event: parse(delivery!) };
};

beforeAll(async () => {
  const { env } = useStackEnv();
  tableName = env.INVITES_TABLE as string;
  receivers.ok = await startReceiver(() => 204);
  receivers.flaky = await startReceiver((_id, previous) => (previous < 2 ? 503 : 200));
  receivers.down = await startReceiver(() => 500);
  Object.assign(process.env, {
    WEBHOOK_ENDPOINTS: JSON.stringify({
      ok: { url: receivers.ok.url, secret: secrets.ok },
      flaky: { url: receivers.flaky.url, secret: secrets.flaky, events: ['invite.created'] },
      down: { url: receivers.down.url, secret: secrets.down, events: ['invite.revoked'], domains: ['other.example'] },
    }),
    WEBHOOK_RETRY_BASE_MS: '20',
    WEBHOOK_MAX_ATTEMPTS: '4',
  });
  // The handler reads its configuration when first imported: after the env above.
  const { handler } = await import('../../functions/notifier.js');
  const context = { functionName: 'notifier', awsRequestId: 'local' } as Context;
  poller = await startStreamPoller({
    endpoint: env.AWS_ENDPOINT_URL_DYNAMODB as string,
    tableName,
    handler: (event: DynamoDBStreamEvent) => handler({ Records: event.Records.map(markTtl) }, context),
    intervalMs: 100,
  });
});

afterAll(async () => {
  await poller?.stop();
  await Promise.all(Object.values(receivers).map((r) => r.close()));
});

describe('notifier: invite events from the table stream', () => {
  it('delivers invite.created, signed, with the invite and never its token', async () => {
    // Act
    const invite = await issue({ note: 'created-event', groups: ['Team'], ttlSeconds: 3600 });

    // Assess
    const { delivery, event } = await signedDelivery('invite.created', invite.id);
    expect(event).toMatchObject({
      type: 'invite.created',
      data: {
        invite: {
          id: invite.id,
          type: 'account',
          domain: 'localhost',
          inviter: null,
          maxUses: 1,
          uses: 0,
          groups: ['Team'],
          note: 'created-event',
          source: expect.stringMatching(/^api-key:/),
          revokedAt: null,
        },
      },
    });
    expect(event.data.invite).toMatchObject({ expiresAt: invite.expiresAt, createdAt: invite.createdAt });
    expect(delivery.body).not.toContain(invite.token);
    expect(keysDeep(event)).not.toContain('token');
  });

  it('retries a receiver that fails twice, which then gets the event once', async () => {
    // Act
    const invite = await issue({ note: 'flaky-receiver' });

    // Assess
    const eventId = await waitFor('the flaky receiver to accept', () => {
      const accepted = eventsFor('flaky', invite.id).find((r) => r.status === 200);
      return accepted && parse(accepted).id;
    });
    const attempts = receivers.flaky.attemptsFor(eventId);
    expect(attempts.map((a) => a.status)).toEqual([503, 503, 200]);
    // Every attempt is signed afresh and carries the same event.
    for (const a of attempts) expectSignedBy(a, secrets.flaky);
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
    expect(await new DynamoDBDeadLetter({ tableName, client: documentClientForStack() }).get(eventId, 'flaky')).toBeUndefined();
  });

  it('delivers invite.revoked once, and dead-letters it for a receiver that always fails', async () => {
    // Prepare
    const invite = await issue({ domain: 'other.example', note: 'revoked-event' });

    // Act
    expect((await api('DELETE', `/invites/${invite.id}`)).status).toBe(204);
    expect((await api('DELETE', `/invites/${invite.id}`)).status).toBe(204);

    // Assess
    const { event } = await signedDelivery('invite.revoked', invite.id);
    expect(event.data.invite).toMatchObject({ id: invite.id, domain: 'other.example', note: 'revoked-event' });
    expect((event.data.invite as { revokedAt: string | null }).revokedAt).toEqual(expect.any(String));

    const deadLetters = new DynamoDBDeadLetter({ tableName, client: documentClientForStack() });
    const letter = await waitFor('the dead letter', () => deadLetters.get(event.id, 'down'));
    expect(letter).toMatchObject({
      kind: 'webhook-delivery',
      endpoint: 'down',
      url: receivers.down.url,
      attempts: 4,
      lastStatus: 500,
      error: 'HTTP 500',
      event: { id: event.id, type: 'invite.revoked', data: { invite: { id: invite.id } } },
    });
    expect(receivers.down.attemptsFor(event.id).map((a) => a.status)).toEqual([500, 500, 500, 500]);
    // The second revoke changed nothing, so it said nothing; the created event never reached `down`.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(eventsFor('ok', invite.id, 'invite.revoked')).toHaveLength(1);
    expect(eventsFor('down', invite.id, 'invite.created')).toHaveLength(0);
  });

  it('delivers invite.redeemed when a redemption completes, with the JID and no password', async () => {
    // Prepare
    const invite = await issue({ note: 'redeemed-event' });
    const username = uniqueName('hook');
    const password = `pw-${randomBytes(8).toString('hex')}`;

    // Act
    const redeem = await api('POST', `/invites/${invite.token}/redeem`, { auth: false, body: { username, password } });
    expect(redeem.status).toBe(201);

    // Assess
    const { delivery, event } = await signedDelivery('invite.redeemed', invite.id);
    expect(event.data).toMatchObject({
      invite: { id: invite.id, domain: 'localhost', note: 'redeemed-event', uses: 1 },
      redemption: { jid: `${username}@localhost`, kind: 'account', at: expect.any(String) },
    });
    expect(delivery.body).not.toContain(password);
    expect(delivery.body).not.toContain(invite.token);
    expect(keysDeep(event).filter((k) => ['password', 'fingerprint', 'salt', 'token'].includes(k))).toEqual([]);
  });

  it('delivers invite.expired for a TTL removal, and nothing for any other delete', async () => {
    // Prepare
    const db = documentClientForStack();
    const expiring = await issue({ note: 'expired-event' });
    const deleted = await issue({ note: 'deleted-not-expired' });
    await waitFor(
      'both created events',
      () => eventsFor('ok', expiring.id, 'invite.created').length > 0 && eventsFor('ok', deleted.id, 'invite.created').length > 0
    );

    // Act
    ttlDeleted.add(`INV#${expiring.id}`);
    await db.send(new DeleteCommand({ TableName: tableName, Key: { pk: `INV#${expiring.id}`, sk: 'INV' } }));
    await db.send(new DeleteCommand({ TableName: tableName, Key: { pk: `INV#${deleted.id}`, sk: 'INV' } }));

    // Assess
    const { event } = await signedDelivery('invite.expired', expiring.id);
    expect(event).toMatchObject({
      type: 'invite.expired',
      occurredAt: expiring.expiresAt,
      data: { invite: { id: expiring.id, note: 'expired-event' } },
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(eventsFor('ok', deleted.id, 'invite.expired')).toHaveLength(0);
  });
});
