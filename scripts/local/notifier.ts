/**
 * functions/notifier.ts on the local table's stream, in a process of its own
 * (started by startLocalNotifier in streamPoller.ts): the handler reads its
 * configuration from the environment at import, as in Lambda, and that
 * environment stays this process's, never the caller's (a test run, npm start).
 * Stops on SIGTERM / SIGINT after the batch in hand.
 */
import { startStreamPoller } from './streamPoller.js';

const log = (line: string) => process.stdout.write(`${line}\n`);
const { handler } = await import('../../functions/notifier.js');
const poller = await startStreamPoller({
  endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB as string,
  tableName: process.env.INVITES_TABLE as string,
  handler: (event) => handler(event, { functionName: 'notifier', awsRequestId: 'local' } as never),
  log,
});
log('notifier: polling the table stream');
const stop = async () => {
  await poller.stop();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
