import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { DeadLetter, DeadLetterEntry } from '../../ports/DeadLetter.js';

export interface SqsDeadLetterOptions {
  queueUrl: string;
  client?: SQSClient;
}

/** Failed webhook deliveries as JSON messages on the queue declared in infra/webhooks.yml. */
export class SqsDeadLetter implements DeadLetter {
  readonly #queueUrl: string;
  readonly #sqs: SQSClient;

  public constructor(options: SqsDeadLetterOptions) {
    this.#queueUrl = options.queueUrl;
    this.#sqs = options.client ?? new SQSClient({ maxAttempts: 3 });
  }

  public async put(entry: DeadLetterEntry): Promise<void> {
    await this.#sqs.send(
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
