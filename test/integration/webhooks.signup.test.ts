import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDBInviteStore } from '../../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { DynamoDBSignupEventStore } from '../../lib/adapters/dynamodb/DynamoDBSignupEventStore.js';
import { loadConfig } from '../../lib/config.js';
import { InviteError } from '../../lib/errors.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { hashToken, sha256 } from '../../lib/token.js';
import { deriveInviteToken, handleSignup, type SignupDeps } from '../../lib/webhooks/signup.js';
import { signatureHeader } from '../../lib/webhooks/signature.js';
import { api, documentClientForStack, stack, uniqueName, useStackEnv } from '../support/stack.js';
import { sourceSecret } from '../support/webhooks.js';

const db = documentClientForStack();
const now = () => Math.floor(Date.now() / 1000);

const post = (
  source: string,
  raw: string,
  options: { contentType?: string; t?: number; secret?: string; signature?: string | null } = {}
) => {
  const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/json' };
  const signature =
    options.signature === undefined ? signatureHeader(options.secret ?? sourceSecret(source), options.t ?? now(), raw) : options.signature;
  if (signature !== null) headers['x-signature'] = signature;
  return api('POST', `/hooks/signup/${source}`, { raw, headers, auth: false });
};

/** The invite id a delivery of this event id would get (the token is derived from the secret). */
const inviteIdFor = (source: string, eventId: string) => hashToken(deriveInviteToken(sourceSecret(source), source, eventId));

const dedupeRecord = async (source: string, eventId: string) =>
  (
    await db.send(
      new GetCommand({
        TableName: stack().env.INVITES_TABLE,
        Key: { pk: `HOOK#${source}#${sha256(eventId)}`, sk: 'EVENT' },
        ConsistentRead: true,
      })
    )
  ).Item;

/** Nothing exists for this event: no invite under the id it would get, no dedupe record. */
const expectNothingCreated = async (source: string, eventId: string) => {
  const shown = await api('GET', `/invites/by-id/${inviteIdFor(source, eventId)}`);
  expect(shown.status).toBe(404);
  expect(await dedupeRecord(source, eventId)).toBeUndefined();
};

describe('POST /hooks/signup/{source}', () => {
  it('turns a signed JSON delivery into an invite of that source (201)', async () => {
    // Prepare
    const eventId = randomUUID();
    const email = `${uniqueName('e')}@example.net`;
    const raw = JSON.stringify({ id: eventId, email, message: 'wants to join' });

    // Act
    const res = await post('test-form', raw);

    // Assess
    expect(res.status).toBe(201);
    const token = res.body.token as string;
    expect(token).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(res.body).toMatchObject({
      id: hashToken(token),
      type: 'account',
      domain: 'localhost',
      username: null,
      uri: `xmpp:localhost?register;preauth=${token}`,
      landingUrl: `${stack().baseUrl}/i/${token}`,
      maxUses: 1,
      groups: ['Signups'],
      source: 'webhook:test-form',
    });
    expect(res.headers.get('location')).toBe(`/invites/by-id/${res.body.id}`);
    const expiresIn = Date.parse(res.body.expiresAt) / 1000 - now();
    expect(expiresIn).toBeGreaterThan(3500);
    expect(expiresIn).toBeLessThanOrEqual(3600);

    const shown = await api('GET', `/invites/by-id/${res.body.id}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ source: 'webhook:test-form', status: 'valid', note: `wants to join\nemail: ${email}` });
    const check = await api('GET', `/invites/${token}`, { auth: false });
    expect(check.body).toMatchObject({ valid: true, domain: 'localhost', usesLeft: 1 });
    expect(await dedupeRecord('test-form', eventId)).toMatchObject({ inviteId: res.body.id });
  });

  it('answers the same invite, same token, to a replay and to a re-signed retry, and never makes a second one', async () => {
    // Prepare
    const eventId = randomUUID();
    const marker = uniqueName('dup');
    const raw = JSON.stringify({ id: eventId, message: marker });
    const t = now();
    const first = await post('test-form', raw, { t });
    expect(first.status).toBe(201);

    // Act
    const replay = await post('test-form', raw, { t });
    const retry = await post('test-form', raw, { t: t + 2 });
    const parallel = await Promise.all([1, 2, 3].map(() => post('test-form', raw)));

    // Assess
    for (const again of [replay, retry, ...parallel]) {
      expect(again.status).toBe(200);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body).toEqual(first.body);
    }
    const { Items = [] } = await db.send(
      new QueryCommand({
        TableName: stack().env.INVITES_TABLE,
        IndexName: 'byDomain',
        KeyConditionExpression: 'gsi2pk = :p',
        FilterExpression: 'note = :note',
        ExpressionAttributeValues: { ':p': 'DOMAIN#localhost', ':note': marker },
      })
    );
    expect(Items.map((i) => i.id)).toEqual([first.body.id]);
  });

  it('accepts application/x-www-form-urlencoded and presets the username', async () => {
    // Prepare
    const eventId = randomUUID();
    const username = uniqueName('form');
    const raw = new URLSearchParams({ id: eventId, username, email: 'someone@example.org' }).toString();

    // Act
    const res = await post('test-form', raw, { contentType: 'application/x-www-form-urlencoded' });

    // Assess
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ username, uri: `xmpp:${username}@localhost?register;preauth=${res.body.token}` });
    const check = await api('GET', `/invites/${res.body.token}`, { auth: false });
    expect(check.body).toMatchObject({ valid: true, username });
  });

  it('maps nested fields with the source configuration (domain, maxUses, name, email)', async () => {
    // Prepare
    const eventId = randomUUID();
    const raw = JSON.stringify({ event: { id: eventId, data: { name: 'Juliet C.', email: 'juliet@example.org' } } });

    // Act
    const res = await post('nested-form', raw);

    // Assess
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ domain: 'other.example', maxUses: 3, source: 'webhook:nested-form', groups: [] });
    const shown = await api('GET', `/invites/by-id/${res.body.id}`);
    expect(shown.body.note).toBe('name: Juliet C.\nemail: juliet@example.org');
  });

  it('rejects a bad, a missing, a foreign-secret or a body-swapped signature with 401 signature-invalid, creating nothing', async () => {
    const eventId = randomUUID();
    const raw = JSON.stringify({ id: eventId });
    const cases = [
      post('test-form', raw, { signature: `t=${now()},v1=${'0'.repeat(64)}` }),
      post('test-form', raw, { signature: null }),
      post('test-form', raw, { signature: 'v1=abc' }),
      post('test-form', raw, { secret: sourceSecret('nested-form') }),
      post('test-form', raw, { signature: signatureHeader(sourceSecret('test-form'), now(), JSON.stringify({ id: randomUUID() })) }),
    ];
    for (const res of await Promise.all(cases)) {
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('signature-invalid');
      expect(res.headers.get('www-authenticate')).toBeNull();
    }
    await expectNothingCreated('test-form', eventId);
  });

  it('rejects an authentic but stale or future-dated delivery with 401 signature-stale, creating nothing', async () => {
    const eventId = randomUUID();
    const raw = JSON.stringify({ id: eventId });
    for (const t of [now() - 301, now() + 400]) {
      const res = await post('test-form', raw, { t });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('signature-stale');
    }
    await expectNothingCreated('test-form', eventId);
  });

  it('answers a source that is not configured exactly like a bad signature, so names cannot be probed', async () => {
    const body = JSON.stringify({ id: randomUUID() });
    const unknown = await post('no-such-form', body, { secret: 'whatever-secret-1234' });
    const badSignature = await post('test-form', body, { secret: 'whatever-secret-1234' });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(badSignature.body);
    expect(unknown.body).toMatchObject({ error: 'signature-invalid' });
    const unsignedUnknown = await post('no-such-form', body, { signature: null });
    const unsignedKnown = await post('test-form', body, { signature: null });
    expect(unsignedUnknown.status).toBe(401);
    expect(unsignedUnknown.body).toEqual(unsignedKnown.body);
  });

  it('rejects malformed payloads with 400 payload-invalid (415 for other media types), creating nothing', async () => {
    const eventId = randomUUID();
    const cases: [string, string | undefined, number][] = [
      [`{"id":"${eventId}",`, undefined, 400],
      [JSON.stringify([{ id: eventId }]), undefined, 400],
      [JSON.stringify({ email: 'no-event-id@example.org' }), undefined, 400],
      [JSON.stringify({ id: eventId, email: 'not an email' }), undefined, 400],
      [JSON.stringify({ id: eventId, username: 42 }), undefined, 400],
      [`id=${eventId}`, 'text/plain', 415],
    ];
    for (const [raw, contentType, status] of cases) {
      const res = await post('test-form', raw, { contentType });
      expect(res.status, raw).toBe(status);
      expect(res.body.error).toBe(status === 415 ? 'unsupported-media-type' : 'payload-invalid');
    }
    // A username the invite rules refuse is a 400 too, and leaves nothing behind.
    const badName = await post('test-form', JSON.stringify({ id: eventId, username: 'no/slash' }));
    expect(badName.status).toBe(400);
    expect(badName.body.error).toBe('username-invalid');
    await expectNothingCreated('test-form', eventId);
  });

  it('answers the same invite when the dedupe record is missing (a delivery that died before writing it)', async () => {
    // Prepare
    const eventId = randomUUID();
    const raw = JSON.stringify({ id: eventId });
    const first = await post('test-form', raw);
    expect(first.status).toBe(201);
    await db.send(
      new DeleteCommand({ TableName: stack().env.INVITES_TABLE, Key: { pk: `HOOK#test-form#${sha256(eventId)}`, sk: 'EVENT' } })
    );

    // Act
    const again = await post('test-form', raw);

    // Assess
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await dedupeRecord('test-form', eventId)).toMatchObject({ inviteId: first.body.id });
  });
});

describe('Function: handleSignup (in process, on DynamoDB Local)', () => {
  it('answers event-duplicate, never a second invite, to a retry signed with a rotated secret', async () => {
    // Prepare
    const env = useStackEnv().env;
    const client = documentClientForStack();
    const depsWith = (secret: string): SignupDeps => {
      const cfg = loadConfig({
        ...env,
        SIGNUP_SOURCES: JSON.stringify({ rotating: { secret, fields: { eventId: 'id' } } }),
      });
      return {
        store: new DynamoDBInviteStore({ tableName: cfg.tableName, client }),
        clock: systemClock,
        config: cfg,
        sources: cfg.signupSources,
        secret: async () => secret,
        events: new DynamoDBSignupEventStore({ tableName: cfg.tableName, client }),
        toleranceSeconds: 300,
      };
    };
    const [oldSecret, newSecret] = ['old-secret-0123456789', 'new-secret-0123456789'];
    const body = Buffer.from(JSON.stringify({ id: randomUUID() }));
    const request = (secret: string) => ({
      source: 'rotating',
      signature: signatureHeader(secret, now(), body),
      contentType: 'application/json',
      body,
    });
    const first = await handleSignup(depsWith(oldSecret), request(oldSecret));
    expect(first.replayed).toBe(false);

    // Act
    const retry = handleSignup(depsWith(newSecret), request(newSecret));

    // Assess
    await expect(retry).rejects.toBeInstanceOf(InviteError);
    await expect(retry).rejects.toMatchObject({ code: 'event-duplicate', details: { inviteId: first.view.id } });
    const shown = await api('GET', `/invites/by-id/${first.view.id}`);
    expect(shown.body).toMatchObject({ source: 'webhook:rotating', status: 'valid' });
  });
});
