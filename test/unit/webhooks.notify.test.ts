import { describe, expect, it } from 'vitest';
import type { Invite } from '../../lib/invites/Invite.js';
import type { DeadLetterEntry } from '../../lib/ports/DeadLetter.js';
import type { WebhookRequest } from '../../lib/ports/WebhookSender.js';
import type { InviteChange } from '../../lib/webhooks/events.js';
import { backoffMs, deliver, notifyStreamBatch, type NotifyDeps } from '../../lib/webhooks/notify.js';
import type { WebhookEndpoint } from '../../lib/webhooks/settings.js';
import { verifySignature } from '../../lib/webhooks/signature.js';

const invite: Invite = {
  id: 'B'.repeat(43),
  type: 'account',
  domain: 'example.com',
  maxUses: 1,
  uses: 0,
  pending: 0,
  expiresAt: 2_000_000_000,
  createdAt: 1_900_000_000,
  groups: [],
  roles: [],
  source: 'cli',
};
const created = (changeId: string, domain = 'example.com'): InviteChange => ({
  type: 'invite.created',
  changeId,
  at: 1,
  invite: { ...invite, domain },
});
const endpoint = (name: string, extra: Partial<WebhookEndpoint> = {}): WebhookEndpoint => ({
  name,
  url: `https://${name}.test/h`,
  secret: `${name}-secret-0123456789`,
  events: ['invite.created', 'invite.redeemed'],
  ...extra,
});

/** In-memory sender: answers a scripted status (or throws) per call. */
const setup = (script: (req: WebhookRequest, n: number) => number | Error, endpoints = [endpoint('a')]) => {
  const sent: WebhookRequest[] = [];
  const letters: DeadLetterEntry[] = [];
  const sleeps: number[] = [];
  const deps: NotifyDeps = {
    sender: {
      send: async (req) => {
        sent.push(req);
        const out = script(req, sent.length);
        if (out instanceof Error) throw out;
        return { status: out };
      },
    },
    deadLetter: { put: async (e) => void letters.push(e) },
    store: { get: async (id) => (id === invite.id ? { ...invite, inviter: 'romeo@example.com' } : undefined) },
    endpoints,
    secret: async (e) => e.secret as string,
    policy: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000, timeoutMs: 50 },
    clock: { now: () => Math.floor(Date.now() / 1000) },
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 1,
  };
  return { deps, sent, letters, sleeps };
};

describe('Function: deliver', () => {
  it('signs the JSON body with the endpoint secret and succeeds on the first 2xx', async () => {
    const { deps, sent, letters } = setup(() => 202);
    const outcome = await deliver(deps, endpoint('a'), {
      id: 'e1',
      type: 'invite.created',
      occurredAt: 'x',
      data: { invite: { id: invite.id } },
    });
    expect(outcome).toEqual({ endpoint: 'a', eventId: 'e1', outcome: 'delivered', attempts: 1 });
    const [req] = sent;
    expect(req!.headers['x-event-id']).toBe('e1');
    expect(
      verifySignature({ header: req!.headers['x-signature'], body: req!.body, secrets: ['a-secret-0123456789'], now: deps.clock.now() })
    ).toBeGreaterThan(0);
    expect(letters).toEqual([]);
  });

  it('retries 5xx, 429 and network errors with exponential backoff, then succeeds', async () => {
    const { deps, sent, sleeps } = setup((_r, n) => (n === 1 ? 503 : n === 2 ? new Error('ECONNRESET') : n === 3 ? 429 : 200));
    const outcome = await deliver(deps, endpoint('a'), {
      id: 'e1',
      type: 'invite.created',
      occurredAt: 'x',
      data: { invite: { id: 'i' } },
    });
    expect(outcome.attempts).toBe(4);
    expect(sent).toHaveLength(4);
    expect(sleeps).toEqual([100, 200, 400]);
  });

  it('dead-letters after the last attempt, with the last status and error', async () => {
    const { deps, letters, sleeps } = setup(() => 500);
    const outcome = await deliver(deps, endpoint('a'), {
      id: 'e1',
      type: 'invite.created',
      occurredAt: 'x',
      data: { invite: { id: 'i' } },
    });
    expect(outcome).toMatchObject({ outcome: 'dead-lettered', attempts: 4 });
    expect(sleeps).toHaveLength(3);
    expect(letters).toMatchObject([
      {
        kind: 'webhook-delivery',
        endpoint: 'a',
        url: 'https://a.test/h',
        attempts: 4,
        lastStatus: 500,
        error: 'HTTP 500',
        event: { id: 'e1' },
      },
    ]);
  });

  it('does not retry a refusal (4xx other than 408/425/429, or a redirect)', async () => {
    for (const status of [400, 401, 404, 410, 301]) {
      const { deps, sent, letters } = setup(() => status);
      await deliver(deps, endpoint('a'), { id: 'e1', type: 'invite.created', occurredAt: 'x', data: { invite: { id: 'i' } } });
      expect(sent).toHaveLength(1);
      expect(letters).toMatchObject([{ attempts: 1, lastStatus: status }]);
    }
  });
});

describe('Function: backoffMs', () => {
  it('doubles from the base, caps, and jitters between half and full', () => {
    const policy = { baseDelayMs: 250, maxDelayMs: 1000 };
    expect([1, 2, 3, 4].map((n) => backoffMs(n, policy, () => 1))).toEqual([250, 500, 1000, 1000]);
    expect(backoffMs(1, policy, () => 0)).toBe(125);
  });
});

describe('Function: notifyStreamBatch', () => {
  const read = { changes: (r: { seq: string; changes: InviteChange[] }) => r.changes, sequenceNumber: (r: { seq: string }) => r.seq };

  it('sends each event to the endpoints that want its type and domain', async () => {
    const endpoints = [
      endpoint('all'),
      endpoint('other', { domains: ['other.example'] }),
      endpoint('revokes', { events: ['invite.revoked'] }),
    ];
    const { deps, sent } = setup(() => 200, endpoints);
    const { outcomes, batchItemFailures } = await notifyStreamBatch(
      deps,
      [
        { seq: '1', changes: [created('e1')] },
        { seq: '2', changes: [created('e2', 'other.example')] },
      ],
      read
    );
    expect(batchItemFailures).toEqual([]);
    expect(outcomes.map((o) => `${o.eventId}->${o.endpoint}`).sort()).toEqual(['e1->all', 'e2->all', 'e2->other']);
    expect(sent).toHaveLength(3);
  });

  it('adds the current invite to a redemption', async () => {
    const { deps, sent } = setup(() => 200);
    const redeemed: InviteChange = {
      type: 'invite.redeemed',
      changeId: 'r1',
      at: 5,
      inviteId: invite.id,
      redemption: { jid: 'j@example.com', kind: 'account', at: 5 },
    };
    await notifyStreamBatch(deps, [{ seq: '1', changes: [redeemed] }], read);
    expect(JSON.parse(sent[0]!.body).data.invite).toMatchObject({ id: invite.id, inviter: 'romeo@example.com', domain: 'example.com' });
  });

  it('reports the first record it cannot handle (dead letter down) and stops there', async () => {
    const { deps, sent } = setup(() => 500);
    deps.deadLetter = {
      put: async () => {
        throw new Error('queue unreachable');
      },
    };
    const { batchItemFailures } = await notifyStreamBatch(
      deps,
      [
        { seq: '7', changes: [created('e1')] },
        { seq: '8', changes: [created('e2')] },
      ],
      read
    );
    expect(batchItemFailures).toEqual([{ itemIdentifier: '7' }]);
    expect(sent.every((r) => r.headers['x-event-id'] === 'e1')).toBe(true);
  });
});
