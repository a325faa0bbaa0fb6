import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoDBDeadLetter } from '../lib/adapters/dynamodb/DynamoDBDeadLetter.js';
import { FetchWebhookSender } from '../lib/adapters/http/FetchWebhookSender.js';
import { changesFromStreamRecord } from '../lib/adapters/dynamodb/inviteStreamRecords.js';
import { funnelEventFromStreamRecord } from '../lib/adapters/dynamodb/funnelStreamRecords.js';
import { countStreamEvent } from '../lib/stats/funnelEvents.js';
import { SqsDeadLetter } from '../lib/adapters/aws/SqsDeadLetter.js';
import { webhookSecrets } from '../lib/adapters/aws/webhookSecrets.js';
import { notifyStreamBatch, type NotifyDeps } from '../lib/webhooks/notify.js';
import { cfg, clock, store } from './wiring/deps.js';
import { funnelCounters } from './wiring/funnel.js';
import { logger } from './wiring/observability.js';

const { webhooks } = cfg;

const deps: NotifyDeps = {
  sender: new FetchWebhookSender(),
  // SQS in the cloud; the table where there is no SQS (npm start, tests).
  deadLetter: webhooks.deadLetterQueueUrl
    ? new SqsDeadLetter({ queueUrl: webhooks.deadLetterQueueUrl })
    : new DynamoDBDeadLetter({ tableName: cfg.tableName }),
  store,
  endpoints: webhooks.endpoints,
  secret: (
    (byName) => (endpoint) =>
      byName(endpoint.name)
  )(webhookSecrets(Object.fromEntries(webhooks.endpoints.map((e) => [e.name, e])))),
  policy: webhooks,
  clock,
  log: (message, data) => logger.warn(message, data),
};

/**
 * DynamoDB Streams -> the funnel's counters (each record once), then signed invite events to the configured endpoints.
 * Reports the first record it could not handle, so Lambda retries from there
 * (functionResponseType ReportBatchItemFailures in serverless.yml).
 */
export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse, Error, Context>()
  .use(injectLambdaContext(logger))
  .handler(async (event) => {
    const { batchItemFailures, outcomes } = await notifyStreamBatch(deps, event.Records, {
      changes: changesFromStreamRecord,
      sequenceNumber: (record) => record.dynamodb?.SequenceNumber,
      // The onboarding funnel (#21): invites issued and registrations, from the same records.
      first: (record) => countStreamEvent(funnelCounters, funnelEventFromStreamRecord(record)),
    });
    if (outcomes.length > 0) {
      logger.info('webhook deliveries', {
        delivered: outcomes.filter((o) => o.outcome === 'delivered').length,
        deadLettered: outcomes.filter((o) => o.outcome === 'dead-lettered').length,
      });
    }
    return { batchItemFailures };
  });
