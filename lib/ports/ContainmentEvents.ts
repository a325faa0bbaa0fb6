/**
 * Containment actions announced on the outbound webhook path: the adapter
 * records the event where the notifier (functions/notifier.ts) picks it up,
 * signs it and delivers it like the invite events.
 */
export type ContainmentEventType = 'lineage.revoked' | 'account.suspended' | 'account.unsuspended';

export interface ContainmentEvent {
  type: ContainmentEventType;
  /** Epoch seconds. */
  at: number;
  /** The account acted on; its domain selects the endpoints. */
  jid: string;
  /** Who acted: an API key's source, `cli`, an xmpp-server key's source. */
  actor: string;
  /** Live invites revoked by this action (ids), and whether the walk reached its end. */
  revoked: string[];
  subtree?: boolean;
  complete?: boolean;
}

export interface ContainmentEvents {
  emit(event: ContainmentEvent): Promise<void>;
}
