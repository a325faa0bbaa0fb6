import type { WebhookRequest, WebhookResponse, WebhookSender } from '../../ports/WebhookSender.js';

/**
 * Node's fetch. Redirects are not followed: a signed event goes to the
 * configured URL or nowhere (a 3xx counts as a refusal).
 */
export class FetchWebhookSender implements WebhookSender {
  public async send(request: WebhookRequest): Promise<WebhookResponse> {
    const res = await fetch(request.url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    // Drain the body so the connection can be reused; its content is not ours to keep.
    await res.arrayBuffer().catch(() => undefined);
    return { status: res.status };
  }
}
