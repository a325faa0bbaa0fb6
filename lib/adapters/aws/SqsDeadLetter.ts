import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetter, DeadLetterEntry } from '../../ports/DeadLetter.js';

export interface SqsDeadLetterOptions {
  queueUrl: string;
  client?: SQSClient;
}

/**
 * Failed webhook deliveries as JSON messages on the queue declared in infra/webhooks.yml.
 * The SQS client is loaded and made at the first dead letter, not at the
 * notifier's start: most containers never write one (esbuild evaluates a
 * dynamic import inside the bundle lazily).
 */
export class SqsDeadLetter implements DeadLetter {
  readonly #queueUrl: string;
  #sqs: Promise<{ client: SQSClient; SendMessageCommand: typeof import('@aws-sdk/client-sqs').SendMessageCommand }> | undefined;

  public constructor(options: SqsDeadLetterOptions) {
    this.#queueUrl = options.queueUrl;
    if (options.client) this.#sqs = this.#load(options.client);
  }

  async #load(client?: SQSClient) {
    const { SQSClient, SendMessageCommand } = await import('@aws-sdk/client-sqs');
    return { client: client ?? new SQSClient({ maxAttempts: 3 }), SendMessageCommand };
  }

  public async put(entry: DeadLetterEntry): Promise<void> {
    this.#sqs ??= this.#load();
    this.#sqs.catch(() => {
      this.#sqs = undefined;
    });
    const { client, SendMessageCommand } = await this.#sqs;
    await client.send(
      new SendMessageCommand({
        QueueUrl: this.#queueUrl,
        MessageBody: JSON.stringify(entry),
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: entry.kind },
          endpoint: { DataType: 'String', StringValue: entry.endpoint },
          eventType: { DataType: 'String', StringValue: entry.event.type },
        },
      })
    );
  }
}
