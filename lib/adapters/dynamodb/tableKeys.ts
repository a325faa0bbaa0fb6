/**
 * The table's key schema in one place: attribute names, index names, and the
 * partition-key prefix of every kind of item. The adapters build keys only
 * through these functions; serverless.yml's stream filters, the IAM roles'
 * `dynamodb:LeadingKeys` conditions and infra/table.yml are checked against
 * this module by test/unit/infra.test.ts.
 *
 *   INV#<id>            INV           an invite
 *   INV#<id>            RED#<jid>     audit of one redemption (account, reset, contact)
 *   JID#<jid>           ACCOUNT       username reservation, or the lock of an account being created
 *   JID#<jid>           RESET#<id>    the lock of a password reset by invite <id>
 *   JID#<jid>           CONTACT#<id>  an existing account that spent contact invite <id> (XEP-0379)
 *   KEY#<sha256>        KEY           an API key (never the key itself)
 *   RATE#<rule>#<win>   RATE          a rate-limit counter (TTL)
 *   HOOK#<src>#<event>  EVENT         dedupe record of a signup webhook delivery
 *   DLQ#<event>         ENDPOINT#<n>  a dead-lettered outbound webhook (local stacks)
 *   ALLOW#<inviter>     H#<hour>      invites issued by one inviter in that hour (policy allowance, TTL)
 *   BRAKE#<domain>      H#<hour>      accounts created on one domain in that hour (registration brake, TTL)
 *   BRAKE#<domain>      TRIP#<hour>   the brake tripped in that hour: the stream makes it a registration.brake event
 *   ACCT#<jid>          LINEAGE       who brought an account in (never expires); in byInviter
 *                                     under INVITEES#<inviter or source>, so "whom did X invite" is one Query
 *   NOTE#<id>           NOTICE        a containment event for the notifier's stream (TTL)
 *   AUDIT#<domain>      T#<time>#<r>  one admin action on that domain (lib/ports/AdminAudit.ts, TTL)
 *   STATS#<domain>      D#<day>       the onboarding funnel's counters of that domain and UTC day (lib/ports/FunnelCounters.ts, TTL ~400 days)
 *   STATS#<domain>      E#<event id>  a stream record already counted there (dedupe of a retried batch, TTL 2 days)
 */
export const TableSchema = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  byInviter: { name: 'byInviter', pk: 'gsi1pk', sk: 'gsi1sk' },
  byDomain: { name: 'byDomain', pk: 'gsi2pk', sk: 'gsi2sk' },
  /** Sparse: only invites of quota'd sources, sorted by expiry. */
  bySource: { name: 'bySource', pk: 'gsi3pk', sk: 'gsi3sk' },
} as const;

/** Partition-key prefixes, by what the item is. */
export const KeyPrefix = {
  invite: 'INV#',
  jid: 'JID#',
  apiKey: 'KEY#',
  rate: 'RATE#',
  signupEvent: 'HOOK#',
  deadLetter: 'DLQ#',
  // The invitation policy (lib/invites/policy.ts).
  allowance: 'ALLOW#',
  brake: 'BRAKE#',
  // Lineage (lib/lineage/).
  account: 'ACCT#',
  notice: 'NOTE#',
  // The admin audit trail (lib/ports/AdminAudit.ts).
  adminAudit: 'AUDIT#',
  // The onboarding funnel (lib/ports/FunnelCounters.ts).
  stats: 'STATS#',
} as const;

/** Sort keys and their prefixes. */
export const SortKey = {
  invite: 'INV',
  audit: 'RED#',
  account: 'ACCOUNT',
  reset: 'RESET#',
  contact: 'CONTACT#',
  apiKey: 'KEY',
  rate: 'RATE',
  signupEvent: 'EVENT',
  deadLetter: 'ENDPOINT#',
  // The invitation policy (lib/invites/policy.ts).
  bucket: 'H#',
  brakeTrip: 'TRIP#',
  // Lineage (lib/lineage/).
  lineage: 'LINEAGE',
  notice: 'NOTICE',
  adminAudit: 'T#',
  // The onboarding funnel (lib/ports/FunnelCounters.ts).
  statsDay: 'D#',
  statsEvent: 'E#',
} as const;

/** Index partition prefixes (gsi*pk values). */
export const IndexPrefix = {
  inviter: 'INVITER#',
  domain: 'DOMAIN#',
  source: 'SOURCE#',
  /** All API keys share one byDomain partition: there are few and listing is rare. */
  apiKeys: 'APIKEYS',
  /** Lineage records of the accounts one inviter (a JID, or a source) brought in. */
  invitees: 'INVITEES#',
} as const;

export type TableKey = { pk: string; sk: string };

export const inviteKey = (id: string): TableKey => ({ pk: `${KeyPrefix.invite}${id}`, sk: SortKey.invite });
export const auditKey = (inviteId: string, jid: string): TableKey => ({
  pk: `${KeyPrefix.invite}${inviteId}`,
  sk: `${SortKey.audit}${jid}`,
});
export const accountLockKey = (jid: string): TableKey => ({ pk: `${KeyPrefix.jid}${jid}`, sk: SortKey.account });
export const resetLockKey = (jid: string, inviteId: string): TableKey => ({
  pk: `${KeyPrefix.jid}${jid}`,
  sk: `${SortKey.reset}${inviteId}`,
});
export const contactKey = (subscriber: string, inviteId: string): TableKey => ({
  pk: `${KeyPrefix.jid}${subscriber}`,
  sk: `${SortKey.contact}${inviteId}`,
});
export const apiKeyKey = (id: string): TableKey => ({ pk: `${KeyPrefix.apiKey}${id}`, sk: SortKey.apiKey });
export const rateKey = (rule: string, windowStart: number): TableKey => ({
  pk: `${KeyPrefix.rate}${rule}#${windowStart}`,
  sk: SortKey.rate,
});
export const signupEventKey = (source: string, eventKey: string): TableKey => ({
  pk: `${KeyPrefix.signupEvent}${source}#${eventKey}`,
  sk: SortKey.signupEvent,
});
export const deadLetterKey = (eventId: string, endpoint: string): TableKey => ({
  pk: `${KeyPrefix.deadLetter}${eventId}`,
  sk: `${SortKey.deadLetter}${endpoint}`,
});

/** Bucket start times as 10 digits, so the sort key orders them (until 2286). */
const epochKey = (seconds: number): string => String(seconds).padStart(10, '0');
export const policyBucketKey = (kind: 'allowance' | 'brake', subject: string, start: number): TableKey => ({
  pk: `${KeyPrefix[kind]}${subject}`,
  sk: `${SortKey.bucket}${epochKey(start)}`,
});
export const brakeTripKey = (domain: string, start: number): TableKey => ({
  pk: `${KeyPrefix.brake}${domain}`,
  sk: `${SortKey.brakeTrip}${epochKey(start)}`,
});
export const isBrakeTripItem = (item: Record<string, unknown> | undefined): boolean =>
  item !== undefined &&
  typeof item.pk === 'string' &&
  item.pk.startsWith(KeyPrefix.brake) &&
  typeof item.sk === 'string' &&
  item.sk.startsWith(SortKey.brakeTrip);

export const lineageKey = (jid: string): TableKey => ({ pk: `${KeyPrefix.account}${jid}`, sk: SortKey.lineage });

export const noticeKey = (id: string): TableKey => ({ pk: `${KeyPrefix.notice}${id}`, sk: SortKey.notice });
export const isNoticeItem = (item: Record<string, unknown> | undefined): boolean =>
  item !== undefined && typeof item.pk === 'string' && item.pk.startsWith(KeyPrefix.notice) && item.sk === SortKey.notice;

/** Entries sort by time (13-digit milliseconds), then a random suffix: two actions in one millisecond both stay. */
export const adminAuditKey = (domain: string, atMs: number, suffix: string): TableKey => ({
  pk: `${KeyPrefix.adminAudit}${domain}`,
  sk: `${SortKey.adminAudit}${String(atMs).padStart(13, '0')}#${suffix}`,
});

/** The funnel's day record (`day` is yyyy-mm-dd, so the sort key orders days) and its per-event dedupe marker. */
export const statsDayKey = (domain: string, day: string): TableKey => ({
  pk: `${KeyPrefix.stats}${domain}`,
  sk: `${SortKey.statsDay}${day}`,
});
export const statsEventKey = (domain: string, eventId: string): TableKey => ({
  pk: `${KeyPrefix.stats}${domain}`,
  sk: `${SortKey.statsEvent}${eventId}`,
});

export const isInviteItem = (item: Record<string, unknown> | undefined): boolean =>
  item !== undefined && typeof item.pk === 'string' && item.pk.startsWith(KeyPrefix.invite) && item.sk === SortKey.invite;
export const isAuditItem = (item: Record<string, unknown> | undefined): boolean =>
  item !== undefined &&
  typeof item.pk === 'string' &&
  item.pk.startsWith(KeyPrefix.invite) &&
  typeof item.sk === 'string' &&
  item.sk.startsWith(SortKey.audit);
export const inviteIdOf = (pk: string): string => pk.slice(KeyPrefix.invite.length);
