/**
 * What the webhooks are configured with: signup sources in
 * (`SIGNUP_SOURCES`) and endpoints out (`WEBHOOK_ENDPOINTS`). lib/config.ts
 * reads and checks both at start (lib/jsonSettings.ts).
 */
import type { InviteType } from '../invites/Invite.js';

/** A secret given directly (local development) or an SSM SecureString name (cloud). */
export interface SecretRef {
  secret?: string;
  secretParameter?: string;
}

/** Where a source's form puts each value; dotted paths reach into nested JSON. */
export interface SignupFields {
  /** The delivery's id: the same id twice answers the same invite. Default `eventId`. */
  eventId: string;
  username?: string;
  note?: string;
  email?: string;
  name?: string;
}

export interface SignupSource extends SecretRef {
  /** Domain the invites are for; default the deployment's default domain. */
  domain?: string;
  type: InviteType;
  /** Bare JID the new accounts get roster pre-approval with. */
  inviter?: string;
  fields: SignupFields;
  groups: string[];
  roles: string[];
  ttlSeconds?: number;
  maxUses: number;
  /** Live invites this source may hold at once; unset = DEFAULT_SIGNUP_SOURCE_LIVE_INVITES (100, lib/invites/limits.ts). */
  maxLiveInvites?: number;
}

export const WebhookEventTypes = [
  'invite.created',
  'invite.redeemed',
  'invite.revoked',
  'invite.expired',
  // The registration brake tripped (lib/invites/policy.ts).
  'registration.brake',
  // Containment along the lineage (lib/lineage/containment.ts).
  'lineage.revoked',
  'account.suspended',
  'account.unsuspended',
] as const;
export type WebhookEventType = (typeof WebhookEventTypes)[number];
/**
 * What an endpoint without `events` receives: the invite events. Containment
 * events (their `data` has no `invite`) only go to endpoints that name them,
 * so receivers written for invite events never see another shape.
 */
export const DefaultWebhookEventTypes: readonly WebhookEventType[] = [
  'invite.created',
  'invite.redeemed',
  'invite.revoked',
  'invite.expired',
];

export interface WebhookEndpoint extends SecretRef {
  name: string;
  url: string;
  events: WebhookEventType[];
  /** Only events of invites for these domains; undefined = all. */
  domains?: string[];
}

export interface WebhookDelivery {
  endpoints: WebhookEndpoint[];
  /** Attempts per event and endpoint, the first included. */
  maxAttempts: number;
  /** First retry delay; doubles each attempt, with jitter, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Per-request timeout. */
  timeoutMs: number;
  /** SQS queue for failed deliveries; without it they go to the table (local/dev). */
  deadLetterQueueUrl?: string;
}
