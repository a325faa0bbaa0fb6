/** One HTTP POST of a signed webhook. */
export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

export interface WebhookResponse {
  status: number;
}

/**
 * Sends one request, no retries (the caller decides). Answers the receiver's
 * status; throws on network errors and timeouts.
 */
export interface WebhookSender {
  send(request: WebhookRequest): Promise<WebhookResponse>;
}
