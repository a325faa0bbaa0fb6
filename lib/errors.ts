/**
 * Errors are values with stable codes. `functions/http/route.ts` is the one place
 * that maps them to HTTP statuses; nothing in `lib/` knows about HTTP.
 */
export const ErrorCodes = [
  'invalid-request',
  'invalid-json',
  'body-too-large',
  'unsupported-media-type',
  'cursor-invalid',
  'token-invalid',
  'token-expired',
  'token-used',
  'token-revoked',
  'invite-not-found',
  'username-invalid',
  'username-taken',
  'username-mismatch',
  'username-required',
  // A name only an admin may preset and nobody may choose (RESERVED_USERNAMES).
  'username-reserved',
  'jid-invalid',
  'domain-not-served',
  'ttl-invalid',
  'max-uses-invalid',
  'password-weak',
  'unauthorized',
  'forbidden',
  'registration-closed',
  'quota-exceeded',
  'rate-limited',
  'xmpp-unavailable',
  'xmpp-error',
  'redemption-in-progress',
  'account-not-found',
  'signature-invalid',
  'signature-stale',
  'payload-invalid',
  'event-duplicate',
  // Lineage (lib/lineage/containment.ts): a suspended or deleted account issues no invite.
  'inviter-suspended',
  'invite-depth-exceeded',
  // Key management (lib/apiKeys/manageKeys.ts): no such API key.
  'key-not-found',
  'internal',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

export class InviteError extends Error {
  public readonly code: ErrorCode;
  /** Seconds a client should wait before retrying (503, 429). */
  public readonly retryAfter?: number;
  public readonly details?: Record<string, unknown>;

  public constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; retryAfter?: number; details?: Record<string, unknown> } = {}
  ) {
    super(message, { cause: options.cause });
    this.name = 'InviteError';
    this.code = code;
    this.retryAfter = options.retryAfter;
    this.details = options.details;
  }
}

export const isInviteError = (e: unknown): e is InviteError => e instanceof InviteError;

/**
 * An error fit for a log line: names, messages, stack and cause chain, with
 * only the codes of vendor fields. Loggers print every enumerable property of
 * an error, and a DynamoDB TransactionCanceledException carries the items of
 * its cancellation reasons (ReturnValuesOnConditionCheckFailure), which can be
 * another request's claim.
 */
export const redactError = (error: unknown, depth = 0): Error => {
  if (!(error instanceof Error)) return new Error(typeof error === 'string' ? error : 'non-error thrown');
  const out = new Error(error.message);
  out.name = error.name;
  out.stack = error.stack;
  const e = error as Error & { code?: unknown; CancellationReasons?: { Code?: string }[]; $metadata?: { httpStatusCode?: number } };
  const fields = out as Error & Record<string, unknown>;
  if (typeof e.code === 'string') fields.code = e.code;
  if (Array.isArray(e.CancellationReasons)) fields.reasons = e.CancellationReasons.map((r) => r?.Code ?? 'None');
  if (e.$metadata?.httpStatusCode !== undefined) fields.httpStatusCode = e.$metadata.httpStatusCode;
  if (error.cause !== undefined && depth < 5) out.cause = redactError(error.cause, depth + 1);
  return out;
};

const neverSent = new WeakSet<object>();

/**
 * Marks a failure that happened before a request reached the XMPP server (no
 * connection, login refused): the server cannot have acted on it. Anything
 * else that fails after sending (a timeout, a dropped connection) may hide a
 * success, and redeem then asks the server before giving a use back.
 */
export const markNotSent = <E extends object>(error: E): E => {
  neverSent.add(error);
  return error;
};

export const wasNotSent = (error: unknown): boolean => typeof error === 'object' && error !== null && neverSent.has(error);
