import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  DynamoDBFunnelCounters,
  FUNNEL_DEDUPE_SECONDS,
  FUNNEL_RETENTION_SECONDS,
} from '../../lib/adapters/dynamodb/DynamoDBFunnelCounters.js';
import { documentClientForStack, stack, uniqueName } from '../support/stack.js';

/** The funnel's DynamoDB adapter on DynamoDB Local (the shared stack's table); each test on its own domain. */
const table = () => stack().env.INVITES_TABLE as string;
const counters = () => new DynamoDBFunnelCounters({ tableName: table(), client: documentClientForStack() });
const domain = () => `${uniqueName('f')}.example`;
const raw = async (pk: string, sk: string) =>
  (await documentClientForStack().send(new GetCommand({ TableName: table(), Key: { pk, sk } }))).Item;

describe('DynamoDBFunnelCounters on DynamoDB Local', () => {
  it('adds with ADD, each count its own attribute, from parallel writers without losing one', async () => {
    const c = counters();
    const d = domain();

    await Promise.all([
      ...Array.from({ length: 10 }, () => c.add(d, '2026-12-01', { opened: 1 })),
      c.add(d, '2026-12-01', { issued: 2, registered: { web: 1, app: 1 } }),
      c.add(d, '2026-12-01', { refused: { 'token-used': 1, 'username-taken': 2 } }),
      c.add(d, '2026-12-01', { refused: { 'token-used': 1 } }),
    ]);

    const item = await raw(`STATS#${d}`, 'D#2026-12-01');
    expect(item).toMatchObject({
      issued: 2,
      opened: 10,
      'registered:web': 1,
      'registered:app': 1,
      'refused:token-used': 2,
      'refused:username-taken': 2,
      domain: d,
      day: '2026-12-01',
    });
    // Removed by TTL ~400 days after the day.
    expect(item?.expiresAt).toBe(Date.parse('2026-12-02T00:00:00Z') / 1000 + FUNNEL_RETENTION_SECONDS);
  });

  it('reads a range of days in one Query, oldest first, without the days around it or the dedupe markers', async () => {
    const c = counters();
    const d = domain();
    for (const day of ['2026-11-30', '2026-12-01', '2026-12-06', '2026-12-07']) await c.add(d, day, { issued: 1 });
    await c.addOnce(d, '2026-12-03', { registered: { api: 1 } }, 'event-1');

    const days = await c.read(d, '2026-12-01', '2026-12-06');

    expect(days).toEqual([
      { day: '2026-12-01', counts: { issued: 1, opened: 0, registered: {}, refused: {} } },
      { day: '2026-12-03', counts: { issued: 0, opened: 0, registered: { api: 1 }, refused: {} } },
      { day: '2026-12-06', counts: { issued: 1, opened: 0, registered: {}, refused: {} } },
    ]);
    expect(await c.read(`${uniqueName('none')}.example`, '2026-01-01', '2026-12-31')).toEqual([]);
  });

  it('counts a stream record once however often it comes, also from two notifiers at once', async () => {
    const c = counters();
    const d = domain();

    const first = await c.addOnce(d, '2026-12-04', { issued: 1 }, 'shard-1:seq-1');
    const again = await c.addOnce(d, '2026-12-04', { issued: 1 }, 'shard-1:seq-1');
    const racing = await Promise.all(Array.from({ length: 4 }, () => c.addOnce(d, '2026-12-04', { issued: 1 }, 'shard-1:seq-2')));

    expect([first, again]).toEqual([true, false]);
    expect(racing.filter(Boolean)).toHaveLength(1);
    expect((await raw(`STATS#${d}`, 'D#2026-12-04'))?.issued).toBe(2);
    const marker = await raw(`STATS#${d}`, 'E#shard-1:seq-1');
    expect(marker?.expiresAt).toBeGreaterThan(Date.now() / 1000 + FUNNEL_DEDUPE_SECONDS - 60);
    const { Items } = await documentClientForStack().send(
      new QueryCommand({ TableName: table(), KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `STATS#${d}` } })
    );
    expect(Items?.map((i) => i.sk).sort()).toEqual(['D#2026-12-04', 'E#shard-1:seq-1', 'E#shard-1:seq-2']);
  });

  it('writes nothing for counts that are all zero', async () => {
    const c = counters();
    const d = domain();
    await c.add(d, '2026-12-04', { issued: 0, registered: {}, refused: {} });
    await c.addOnce(d, '2026-12-04', {}, 'event-zero');
    expect(await raw(`STATS#${d}`, 'D#2026-12-04')).toBeUndefined();
    expect(await raw(`STATS#${d}`, 'E#event-zero')).toBeUndefined();
  });
});
