import { paginateQuery, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { JoinedVias } from '../../lineage/Lineage.js';
import type { FunnelCounters, FunnelCounts, FunnelDay } from '../../ports/FunnelCounters.js';
import { documentClient } from './client.js';
import { NEW_ITEM } from './conditions.js';
import { SortKey, statsDayKey, statsEventKey } from './tableKeys.js';
import { cancellationReasons, transact } from './transactions.js';

/** A day's record is kept about 400 days after the day: a year back and a season to compare. */
export const FUNNEL_RETENTION_SECONDS = 400 * 86_400;
/** A counted stream record's marker outlives the stream's 24 hours of retention (and so any retry of it). */
export const FUNNEL_DEDUPE_SECONDS = 2 * 86_400;

const REGISTERED = 'registered:';
const REFUSED = 'refused:';
/** An error code as an attribute name's tail: codes are lowercase words and dashes; anything else is not counted. */
const REASON = /^[a-z][a-z-]{0,47}$/;

/** The counts as attribute name -> increment; zeros and unknown names left out. */
export const funnelAttributes = (counts: FunnelCounts): Record<string, number> => {
  const out: Record<string, number> = {};
  const put = (name: string, n: number | undefined) => {
    if (n !== undefined && Number.isSafeInteger(n) && n !== 0) out[name] = n;
  };
  put('issued', counts.issued);
  put('opened', counts.opened);
  for (const via of JoinedVias) put(`${REGISTERED}${via}`, counts.registered?.[via]);
  for (const [reason, n] of Object.entries(counts.refused ?? {})) if (REASON.test(reason)) put(`${REFUSED}${reason}`, n);
  return out;
};

const countsOf = (item: Record<string, unknown>): FunnelCounts => {
  const counts: FunnelCounts = { issued: Number(item.issued ?? 0), opened: Number(item.opened ?? 0), registered: {}, refused: {} };
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith(REGISTERED)) (counts.registered as Record<string, number>)[name.slice(REGISTERED.length)] = Number(value);
    if (name.startsWith(REFUSED)) (counts.refused as Record<string, number>)[name.slice(REFUSED.length)] = Number(value);
  }
  return counts;
};

/** Seconds since the epoch at the end of a `yyyy-mm-dd` UTC day. */
const endOfDay = (day: string): number => Math.floor(Date.parse(`${day}T00:00:00Z`) / 1000) + 86_400;

/**
 * `STATS#<domain>` / `D#<yyyy-mm-dd>`: one item per domain and UTC day, each
 * count its own attribute (`issued`, `opened`, `registered:<via>`,
 * `refused:<code>`, named through ExpressionAttributeNames), changed with
 * ADD: atomic across containers, no read first, one write unit. TTL removes
 * a day FUNNEL_RETENTION_SECONDS after it. A range of days is one Query of
 * one partition (the markers, `E#...`, sort outside it).
 */
export class DynamoDBFunnelCounters implements FunnelCounters {
  readonly #table: string;
  readonly #db: DynamoDBDocumentClient;

  public constructor(options: { tableName: string; client?: DynamoDBDocumentClient }) {
    this.#table = options.tableName;
    this.#db = options.client ?? documentClient();
  }

  /** The UpdateItem of `add`, undefined when there is nothing to add. */
  #update(domain: string, day: string, counts: FunnelCounts) {
    const attributes = Object.entries(funnelAttributes(counts));
    if (attributes.length === 0) return undefined;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':expires': endOfDay(day) + FUNNEL_RETENTION_SECONDS, ':domain': domain, ':day': day };
    const adds = attributes.map(([name, n], i) => {
      names[`#c${i}`] = name;
      values[`:c${i}`] = n;
      return `#c${i} :c${i}`;
    });
    return {
      TableName: this.#table,
      Key: statsDayKey(domain, day),
      UpdateExpression: `ADD ${adds.join(', ')} SET expiresAt = if_not_exists(expiresAt, :expires), #domain = :domain, #day = :day`,
      ExpressionAttributeNames: { ...names, '#domain': 'domain', '#day': 'day' },
      ExpressionAttributeValues: values,
    };
  }

  public async add(domain: string, day: string, counts: FunnelCounts): Promise<void> {
    const update = this.#update(domain, day, counts);
    if (update) await this.#db.send(new UpdateCommand(update));
  }

  public async addOnce(domain: string, day: string, counts: FunnelCounts, eventId: string): Promise<boolean> {
    const update = this.#update(domain, day, counts);
    if (!update) return true;
    const now = Math.floor(Date.now() / 1000);
    try {
      // The marker and the counts in one transaction: both, or neither (a retry then counts).
      await transact(this.#db, [
        {
          Put: {
            TableName: this.#table,
            Item: { ...statsEventKey(domain, eventId), kind: 'stats-event', expiresAt: now + FUNNEL_DEDUPE_SECONDS },
            ConditionExpression: NEW_ITEM,
          },
        },
        { Update: update },
      ]);
      return true;
    } catch (e) {
      if (cancellationReasons(e)[0]?.Code === 'ConditionalCheckFailed') return false;
      throw e;
    }
  }

  public async read(domain: string, fromDay: string, toDay: string): Promise<FunnelDay[]> {
    const { pk, sk: from } = statsDayKey(domain, fromDay);
    const { sk: to } = statsDayKey(domain, toDay);
    const out: FunnelDay[] = [];
    const pages = paginateQuery(
      { client: this.#db },
      {
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': pk, ':from': from, ':to': to },
      }
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const { pk: _pk, sk, expiresAt: _e, domain: _d, day: _day, ...rest } = item;
        out.push({ day: String(sk).slice(SortKey.statsDay.length), counts: countsOf(rest) });
      }
    }
    return out;
  }
}
