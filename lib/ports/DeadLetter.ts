import type { OutboundEvent } from '../webhooks/events.js';

/** A delivery given up on: what was to be sent, where, and why it failed. */
export interface DeadLetterEntry {
  /** Tells our letters from Lambda's own on-failure records in the same queue. */
  kind: 'webhook-delivery';
  endpoint: string;
  url: string;
  event: OutboundEvent;
  attempts: number;
  /** Receiver's last HTTP status, if it answered at all. */
  lastStatus?: number;
  error: string;
  failedAt: string;
}

/** Where failed deliveries go to be inspected and replayed: SQS in the cloud, the table locally. */
export interface DeadLetter {
  put(entry: DeadLetterEntry): Promise<void>;
}
