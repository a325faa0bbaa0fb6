import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { funnelAttributes } from '../../lib/adapters/dynamodb/DynamoDBFunnelCounters.js';
import { funnelEventFromStreamRecord } from '../../lib/adapters/dynamodb/funnelStreamRecords.js';
import type { Actor } from '../../lib/invites/actor.js';
import type { FunnelCounts, FunnelDay } from '../../lib/ports/FunnelCounters.js';
import { funnelOf, isoWeekOf, lastWeeks, registeredTotal, refusedTotal, sumIntoWeeks } from '../../lib/stats/funnel.js';
import { countNow } from '../../lib/stats/funnelEvents.js';
import { funnelChart, funnelPage } from '../../lib/web/console/funnel.js';
import type { SignedIn } from '../../lib/web/console/core.js';
import { notifyStreamBatch, type NotifyDeps } from '../../lib/webhooks/notify.js';

const at = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const clockAt = (iso: string) => ({ now: () => at(iso) });

describe('ISO weeks of UTC days', () => {
  it.each([
    ['2026-12-04', '2026-W49', '2026-11-30'], // a Friday
    ['2026-11-30', '2026-W49', '2026-11-30'], // its Monday
    ['2026-12-06', '2026-W49', '2026-11-30'], // its Sunday
    ['2026-01-01', '2026-W01', '2025-12-29'], // a Thursday: week 1 of its own year
    ['2027-01-01', '2026-W53', '2026-12-28'], // a Friday: the last week of the year before
    ['2024-12-30', '2025-W01', '2024-12-30'], // a Monday in December: week 1 of the next year
    ['2021-01-03', '2020-W53', '2020-12-28'],
  ])('%s is in %s, which starts on %s', (day, week, monday) => {
    expect(isoWeekOf(day)).toEqual({ week, monday });
  });

  it('lists the last N weeks up to the current one, oldest first, Monday to Sunday', () => {
    const weeks = lastWeeks('2026-01-02', 3);
    expect(weeks.map((w) => [w.week, w.from, w.to])).toEqual([
      ['2025-W51', '2025-12-15', '2025-12-21'],
      ['2025-W52', '2025-12-22', '2025-12-28'],
      ['2026-W01', '2025-12-29', '2026-01-04'],
    ]);
    expect(weeks.every((w) => w.issued === 0 && registeredTotal(w) === 0 && refusedTotal(w) === 0)).toBe(true);
  });

  it('sums days into their weeks, by channel and by reason, and leaves out days outside them', () => {
    const days: FunnelDay[] = [
      { day: '2026-11-29', counts: { issued: 100 } }, // the Sunday before: not shown
      { day: '2026-11-30', counts: { issued: 2, opened: 3, registered: { web: 1 }, refused: { 'token-used': 1 } } },
      { day: '2026-12-06', counts: { issued: 1, registered: { app: 2, api: 1 }, refused: { 'token-used': 2, 'username-taken': 1 } } },
      { day: '2026-12-07', counts: { opened: 5, refused: { 'token-expired': 1 } } },
    ];
    const [first, second] = sumIntoWeeks(lastWeeks('2026-12-08', 2), days);
    expect(first).toMatchObject({ week: '2026-W49', issued: 3, opened: 3, registered: { web: 1, app: 2, api: 1 } });
    expect(first!.refused).toEqual({ 'token-used': 3, 'username-taken': 1 });
    expect(registeredTotal(first!)).toBe(4);
    expect(refusedTotal(first!)).toBe(4);
    expect(second).toMatchObject({ week: '2026-W50', issued: 0, opened: 5, registered: { web: 0, app: 0, api: 0 } });
    expect(second!.refused).toEqual({ 'token-expired': 1 });
  });
});

describe('funnelOf: the use case behind /admin/funnel', () => {
  const reads: [string, string, string][] = [];
  const deps = {
    counters: {
      read: async (domain: string, from: string, to: string): Promise<FunnelDay[]> => {
        reads.push([domain, from, to]);
        return [{ day: '2026-12-01', counts: { issued: 4 } }];
      },
    },
    clock: clockAt('2026-12-04T10:00:00Z'),
    config: { domains: ['a.example', 'b.example'] },
  };
  const scoped: Actor = { source: 'api-key:a', domains: ['a.example'], admin: true };

  it('reads the whole range of weeks in one call and defaults to 8 weeks', async () => {
    reads.length = 0;
    const funnel = await funnelOf(deps, scoped, { domain: 'a.example' });
    expect(reads).toEqual([['a.example', '2026-10-12', '2026-12-06']]);
    expect(funnel.weeks).toHaveLength(8);
    expect(funnel.weeks.at(-1)).toMatchObject({ week: '2026-W49', issued: 4 });
  });

  it('takes 1 to 26 weeks, from the query string too', async () => {
    expect((await funnelOf(deps, scoped, { domain: 'a.example', weeks: '26' })).weeks).toHaveLength(26);
    expect((await funnelOf(deps, scoped, { domain: 'a.example', weeks: 1 })).weeks).toHaveLength(1);
    for (const weeks of ['0', '27', '-1', 'x', '2.5']) {
      await expect(funnelOf(deps, scoped, { domain: 'a.example', weeks })).rejects.toMatchObject({ code: 'invalid-request' });
    }
  });

  it("refuses a domain outside the key's scope (403) or not served (400), before reading", async () => {
    reads.length = 0;
    await expect(funnelOf(deps, scoped, { domain: 'b.example' })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(funnelOf(deps, { ...scoped, domains: ['*'] }, { domain: 'c.example' })).rejects.toMatchObject({
      code: 'domain-not-served',
    });
    expect(reads).toEqual([]);
  });
});

describe('what the stream counts', () => {
  const record = (eventName: 'INSERT' | 'MODIFY', item: Record<string, unknown>, eventID = 'ev-1') => ({
    eventID,
    eventName,
    dynamodb: { NewImage: marshall(item, { removeUndefinedValues: true }) as Record<string, unknown>, SequenceNumber: '1' },
  });
  const invite = { pk: 'INV#abc', sk: 'INV', domain: 'a.example', createdAt: at('2026-12-03T23:59:59Z'), type: 'account' };
  const lineage = (via: unknown) => ({
    pk: 'ACCT#u@a.example',
    sk: 'LINEAGE',
    domain: 'a.example',
    joinedAt: at('2026-12-04T00:00:01Z'),
    via,
  });

  it('an invite INSERT is one invite issued on its domain and creation day (UTC)', () => {
    expect(funnelEventFromStreamRecord(record('INSERT', invite))).toEqual({
      id: 'ev-1',
      domain: 'a.example',
      day: '2026-12-03',
      counts: { issued: 1 },
    });
  });

  it('a lineage record INSERT is one registration by its channel; records without a channel count nothing', () => {
    for (const via of ['web', 'app', 'api'] as const) {
      expect(funnelEventFromStreamRecord(record('INSERT', lineage(via)))).toMatchObject({
        day: '2026-12-04',
        counts: { registered: { [via]: 1 } },
      });
    }
    expect(funnelEventFromStreamRecord(record('INSERT', lineage(undefined)))).toBeUndefined();
    expect(funnelEventFromStreamRecord(record('INSERT', lineage('fax')))).toBeUndefined();
  });

  it('changes, audit items and other items count nothing', () => {
    expect(funnelEventFromStreamRecord(record('MODIFY', invite))).toBeUndefined();
    expect(funnelEventFromStreamRecord(record('MODIFY', lineage('web')))).toBeUndefined();
    expect(funnelEventFromStreamRecord(record('INSERT', { pk: 'INV#abc', sk: 'RED#u@a.example', domain: 'a.example' }))).toBeUndefined();
    expect(
      funnelEventFromStreamRecord(record('INSERT', { pk: 'STATS#a.example', sk: 'D#2026-12-04', domain: 'a.example' }))
    ).toBeUndefined();
    expect(funnelEventFromStreamRecord({ ...record('INSERT', invite), eventID: undefined })).toBeUndefined();
  });

  it('a failed count stops the batch at that record, before its webhooks, so the retry starts there', async () => {
    const deps = { endpoints: [] } as unknown as NotifyDeps;
    const counted: string[] = [];
    const records = ['a', 'b', 'c'];
    const out = await notifyStreamBatch(deps, records, {
      changes: () => [],
      sequenceNumber: (r) => r,
      first: async (r) => {
        if (r === 'b') throw new Error('throttled');
        counted.push(r);
      },
    });
    expect(counted).toEqual(['a']);
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: 'b' }]);
  });
});

describe('counting where it happens', () => {
  it('adds to today (UTC) of the domain; a failure is reported, never thrown; no domain counts nothing', async () => {
    const added: [string, string, FunnelCounts][] = [];
    const warnings: string[] = [];
    const deps = {
      counters: {
        add: async (domain: string, day: string, counts: FunnelCounts) => {
          if (domain === 'down.example') throw new Error('ProvisionedThroughputExceeded');
          added.push([domain, day, counts]);
        },
      },
      clock: clockAt('2026-12-04T23:30:00Z'),
      warn: (message: string) => warnings.push(message),
    };
    await countNow(deps, 'a.example', { opened: 1 });
    await countNow(deps, undefined, { refused: { 'token-invalid': 1 } });
    await expect(countNow(deps, 'down.example', { opened: 1 })).resolves.toBeUndefined();
    expect(added).toEqual([['a.example', '2026-12-04', { opened: 1 }]]);
    expect(warnings).toEqual(['funnel count failed']);
  });

  it('names each count as its own attribute, and leaves out zeros and reasons that are not error codes', () => {
    expect(
      funnelAttributes({
        issued: 1,
        opened: 0,
        registered: { web: 2 },
        refused: { 'token-used': 1, 'x = :y': 1, '#n': 1, 'Token-Used': 1 },
      })
    ).toEqual({ issued: 1, 'registered:web': 2, 'refused:token-used': 1 });
  });
});

describe('the chart', () => {
  it('is an SVG with a title and bars scaled to the largest count, without style attributes or script', () => {
    const weeks = sumIntoWeeks(lastWeeks('2026-12-04', 2), [
      { day: '2026-12-01', counts: { issued: 10, opened: 5, registered: { web: 2 }, refused: { 'token-used': 1 } } },
    ]);
    const svg = funnelChart({ domain: 'a.example', weeks }).value;
    expect(svg).toMatch(/^<svg class="chart" role="img" viewBox="0 0 320 \d+" aria-labelledby="chart-title"><title id="chart-title">/);
    expect(svg).toContain('a.example');
    expect(svg).not.toMatch(/style=|<script|on\w+=/);
    // Zeros draw nothing: the first week has no bar, the second one per count.
    expect(svg.match(/<rect /g)).toHaveLength(4);
    // The largest count gets the whole plot width; the others in proportion.
    expect(svg).toContain('class="bar s-issued" x="40" y="48" width="244"');
    expect(svg).toContain('class="bar s-opened" x="40" y="57" width="122"');
  });

  it('escapes the domain', () => {
    const svg = funnelChart({ domain: '<x>"', weeks: lastWeeks('2026-12-04', 1) }).value;
    expect(svg).not.toContain('<x>');
    expect(svg).toContain('&lt;x&gt;&quot;');
  });
});

describe('the page', () => {
  const admin = { csrf: 'c' } as SignedIn;
  it('shows the newest week first, with its counts by channel and its refusals by reason, and the weeks asked for selected', () => {
    const weeks = sumIntoWeeks(lastWeeks('2026-12-04', 5), [
      { day: '2026-12-01', counts: { issued: 3, registered: { app: 2 }, refused: { 'token-used': 2, 'username-taken': 1 } } },
    ]);
    const page = funnelPage(admin, ['a.example', 'b.example'], { domain: 'a.example', weeks });
    expect(page.indexOf('data-week="2026-W49"')).toBeLessThan(page.indexOf('data-week="2026-W48"'));
    expect(page).toContain('<td data-count="issued">3</td>');
    expect(page).toContain('<td data-count="registered-app">2</td>');
    expect(page).toMatch(
      /<td data-count="refused">3<ul class="reasons"><li data-reason="token-used"><code>token-used<\/code> 2<\/li><li data-reason="username-taken">/
    );
    expect(page).toContain('<option value="5" selected>5</option>');
    expect(page).toContain('<option value="a.example" selected>a.example</option>');
    // No inline script or style attribute: the one console script is external and hash-pinned.
    expect(page).not.toMatch(/<script>|<script(?![^>]*src="\/admin\/console\.js\?v=)|style="/);
  });
});
