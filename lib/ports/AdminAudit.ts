/**
 * The admin audit trail (#21): who did what to which domain, and when. Each
 * action an operator takes in the console is one entry, with the acting key;
 * the console's Activity page reads them back per domain, newest first.
 * Entries never hold a token or a key's secret: an invite is named by its
 * type, inviter and username, a key by its name.
 */
export interface AuditEntry {
  /** Epoch seconds. */
  at: number;
  /** The domain acted on (`*` for an action on no one domain, such as a key for all domains). */
  domain: string;
  /** What was done, e.g. `invite.created`, `invite.revoked`, `lineage.revoked`, `account.suspended`, `key.created`. */
  action: string;
  /** Who acted: the actor's source (`api-key:<id>`, `cli`), and the key's name when there is one. */
  actor: string;
  actorName?: string;
  /** What it was done to, in words an operator reads (a JID, a key's name, "account invite for bob"). */
  subject?: string;
  /** Small facts about the action (counts, flags). */
  detail?: Record<string, string | number | boolean>;
  /** Where it came from: the console, the HTTP API, the command line. */
  via: 'console' | 'api' | 'cli';
}

export interface AuditPage {
  items: AuditEntry[];
  cursor?: string;
}

export interface AdminAudit {
  record(entry: AuditEntry): Promise<void>;
  /** One domain's entries, newest first. */
  list(domain: string, options?: { limit?: number; cursor?: string }): Promise<AuditPage>;
}
