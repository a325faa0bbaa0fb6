/**
 * What Lambda's event source mapping does in the cloud, for the laptop:
 * reads the table's stream on DynamoDB Local (DescribeStream,
 * GetShardIterator, GetRecords), hands batches in the Lambda event shape to a
 * handler (functions/notifier.ts), and re-delivers from the first failed
 * record a few times (like maximumRetryAttempts) before moving on.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { fileURLToPath } from 'node:url';
import { sleep, startChild, waitFor } from './process.js';
import { localClient } from './table.js';

export interface StreamPollerOptions {
  endpoint: string;
  tableName: string;
  // biome-ignore lint/suspicious/noConfusingVoidType: the aws-lambda handler type returns void or a batch response
  handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;
  /** `latest`: only changes after start (default); `trim-horizon`: everything the stream holds. */
  from?: 'latest' | 'trim-horizon';
  batchSize?: number;
  intervalMs?: number;
  /** Re-deliveries of a failed record before it is skipped. */
  maxRetries?: number;
  log?: (line: string) => void;
}

export interface StreamPoller {
  stop: () => Promise<void>;
}

/** The streams API's record, in the shape Lambda gives a handler. */
const toLambdaRecord = (record: _Record, streamArn: string): DynamoDBRecord => ({
  eventID: record.eventID,
  eventName: record.eventName as DynamoDBRecord['eventName'],
  eventVersion: record.eventVersion,
  eventSource: record.eventSource,
  awsRegion: record.awsRegion,
  eventSourceARN: streamArn,
  ...(record.userIdentity ? { userIdentity: { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId } } : {}),
  dynamodb: {
    ...(record.dynamodb as NonNullable<DynamoDBRecord['dynamodb']>),
    ApproximateCreationDateTime: record.dynamodb?.ApproximateCreationDateTime
      ? Math.floor(record.dynamodb.ApproximateCreationDateTime.getTime() / 1000)
      : undefined,
  },
});

export const startStreamPoller = async (options: StreamPollerOptions): Promise<StreamPoller> => {
  const { endpoint, tableName, handler } = options;
  const log = options.log ?? (() => undefined);
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const streams = new DynamoDBStreamsClient({ endpoint, region: 'us-east-1', credentials });
  const { Table } = await localClient(endpoint).send(new DescribeTableCommand({ TableName: tableName }));
  const streamArn = Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${tableName} has no stream`);

  /** Open shards and where we are in each; undefined once a shard is closed and read. */
  const iterators = new Map<string, string | undefined>();
  const listShards = async () => {
    const ids: string[] = [];
    let start: string | undefined;
    do {
      const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }));
      ids.push(...(StreamDescription?.Shards ?? []).map((s) => s.ShardId as string));
      start = StreamDescription?.LastEvaluatedShardId;
    } while (start);
    return ids;
  };
  const track = async (shardId: string, type: 'LATEST' | 'TRIM_HORIZON') => {
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: type })
    );
    iterators.set(shardId, ShardIterator);
  };
  // Shards open at start begin where asked; shards born later from their start.
  for (const id of await listShards()) await track(id, options.from === 'trim-horizon' ? 'TRIM_HORIZON' : 'LATEST');

  const deliver = async (records: DynamoDBRecord[]) => {
    let pending = records;
    for (let attempt = 0; pending.length > 0; attempt++) {
      let failedAt: string | undefined;
      try {
        const response = await handler({ Records: pending });
        failedAt = response?.batchItemFailures?.[0]?.itemIdentifier;
      } catch (e) {
        log(`stream handler failed: ${(e as Error).message}`);
        failedAt = pending[0]?.dynamodb?.SequenceNumber;
      }
      if (failedAt === undefined) return;
      const index = Math.max(
        0,
        pending.findIndex((r) => r.dynamodb?.SequenceNumber === failedAt)
      );
      if (attempt >= (options.maxRetries ?? 3)) {
        log(`skipping stream record ${failedAt} after ${attempt + 1} attempts`);
        pending = pending.slice(index + 1);
        attempt = -1;
      } else {
        pending = pending.slice(index);
        await sleep(200 * 2 ** attempt);
      }
    }
  };

  let running = true;
  const loop = (async () => {
    while (running) {
      let idle = true;
      try {
        for (const id of await listShards()) if (!iterators.has(id)) await track(id, 'TRIM_HORIZON');
        for (const [shardId, iterator] of iterators) {
          if (!iterator || !running) continue;
          const out = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: options.batchSize ?? 25 }));
          iterators.set(shardId, out.NextShardIterator);
          const records = (out.Records ?? []).map((r) => toLambdaRecord(r, streamArn));
          if (records.length > 0) {
            idle = false;
            await deliver(records);
          }
        }
      } catch (e) {
        if (running) log(`stream poll failed: ${(e as Error).message}`);
      }
      if (idle && running) await sleep(options.intervalMs ?? 250);
    }
  })();

  return {
    stop: async () => {
      running = false;
      await loop;
      streams.destroy();
    },
  };
};

/**
 * The stack's notifier: functions/notifier.ts on the local stream, in a child
 * process (scripts/local/notifier.ts) with the stack's environment. Not in
 * this process: the handler reads its settings from process.env, and setting
 * them here would hand the stack's XMPP server and table to everything this
 * process starts later (a test run's `npm start` took the shared Prosody for
 * its own).
 */
export const startLocalNotifier = async (
  env: Record<string, string>,
  log: (line: string) => void = () => undefined
): Promise<StreamPoller> => {
  const child = startChild(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./notifier.ts', import.meta.url))], {
    name: 'notifier',
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { ...process.env, ...env },
  });
  // Its lines (a skipped record, a failed poll) reach the stack's log.
  child.process.stdout?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim() !== '' && !line.startsWith('{')) log(line);
  });
  await waitFor(
    'the local notifier',
    async () => child.output().includes('notifier: polling the table stream'),
    60_000,
    child.process
  ).catch((error: unknown) => {
    log(child.output());
    throw error;
  });
  return { stop: child.stop };
};
