import type { Actor } from './invites/actor.js';
import type { AdminAudit, AuditEntry } from './ports/AdminAudit.js';
import type { Clock } from './ports/Clock.js';

export interface AuditDeps {
  audit: AdminAudit;
  clock: Clock;
  /** Where a failed write is reported; the action it records has happened and stands. */
  warn?: (message: string, details: Record<string, unknown>) => void;
}

/**
 * Writes one admin action to the audit trail (lib/ports/AdminAudit.ts) with
 * the acting key's source and name. Called after the action succeeded: a
 * failed write is reported, never turned into a failure of the action (a
 * revoke that answered 500 would be retried against an invite already revoked).
 */
export const recordAction = async (
  deps: AuditDeps,
  actor: Pick<Actor, 'source' | 'keyName'>,
  via: AuditEntry['via'],
  entry: Pick<AuditEntry, 'action' | 'domain' | 'subject' | 'detail'>
): Promise<void> => {
  const full: AuditEntry = {
    ...entry,
    at: deps.clock.now(),
    actor: actor.source,
    ...(actor.keyName ? { actorName: actor.keyName } : {}),
    via,
  };
  try {
    await deps.audit.record(full);
  } catch (error) {
    deps.warn?.('audit trail write failed', { entry: full, error: error instanceof Error ? error.name : 'unknown' });
  }
};

/** An invite in an operator's words, for an entry's subject: its type, preset username and inviter; never its token or id. */
export const inviteSubject = (invite: { type: string; inviter?: string | null; username?: string | null }): string =>
  [`${invite.type} invite`, invite.username ? `for ${invite.username}` : '', invite.inviter ? `from ${invite.inviter}` : '']
    .filter(Boolean)
    .join(' ');
