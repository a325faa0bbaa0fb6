// A cold start as Lambda has it: a fresh Node process imports the bundled
// handler (module scope runs: config, clients) and serves its first event.
// Plain JavaScript on purpose: nothing but Node between spawn and import.
// Usage: node bench/cold-invoke.mjs BUNDLE.mjs '<event json>'
const start = performance.now();
const [bundle, eventJson] = process.argv.slice(2);
const { handler } = await import(new URL(`file://${bundle}`).href);
const imported = performance.now();
const context = {
  functionName: 'cold',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:cold',
  memoryLimitInMB: '512',
  awsRequestId: `cold-${process.pid}`,
  logGroupName: '/aws/lambda/cold',
  logStreamName: 'bench',
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 15_000,
};
const result = await handler(JSON.parse(eventJson), context);
const done = performance.now();
process.stdout.write(
  JSON.stringify({
    status: result.statusCode,
    body: result.body,
    // Node's own boot, before this script ran.
    bootMs: start,
    importMs: imported - start,
    firstCallMs: done - imported,
  })
);
// The warm XMPP connection would keep the process alive.
process.exit(0);
