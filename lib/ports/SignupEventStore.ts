/**
 * Memory of signup webhook deliveries already turned into an invite, so the
 * same event id never makes a second one, even after the sender's retries
 * outlive the signature tolerance or the source's secret was rotated.
 */
export interface SignupEventRecord {
  source: string;
  /** SHA-256 of the sender's event id (ids may carry personal data). */
  eventKey: string;
  inviteId: string;
  createdAt: number;
  /** Epoch seconds; the record is forgotten after this (table TTL). */
  expiresAt: number;
}

export interface SignupEventStore {
  /** The live record of this event, if any. */
  get(source: string, eventKey: string, now: number): Promise<SignupEventRecord | undefined>;
  /** Stores the record unless a live one exists; returns the one that wins. */
  remember(record: SignupEventRecord, now: number): Promise<SignupEventRecord>;
}
