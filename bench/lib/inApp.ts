/**
 * In-app registration through this repository's Prosody module, side by side
 * with Prosody's own mod_invites_register. Prosody's own invite suite and
 * mod_xmpp_invites cannot share a host, so the module runs on a second private
 * Prosody (same build, same machine) for the domain `inapp.localhost`,
 * pointed at the bench's serverless-offline; the service provisions that
 * domain over its own admin connection, like any other.
 *
 * The same scripted app (bench/lib/nativeFlow.ts: connect, STARTTLS, the
 * `urn:xmpp:pars:0` preauth IQ, in-band registration, then log in) runs
 * against both; only where the token comes from differs (mod_invites_api,
 * or our POST /invites for that domain).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { createApiKey, generateApiKeySecret } from '../../lib/apiKeys/apiKeys.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { freePort } from '../../scripts/local/process.js';
import { type LocalProsody, startProsody } from '../../scripts/local/prosody.js';
import type { NativeTarget } from './nativeFlow.js';

export const IN_APP_DOMAIN = 'inapp.localhost';

export interface InAppSetup {
  prosody: LocalProsody;
  /** serverless-offline's port, chosen before the stack starts (the module is pointed at it). */
  port: number;
  /** The service's settings for both servers (XMPP_SERVERS, domains, one CA file for both certificates). */
  env: (native: LocalProsody) => Record<string, string>;
  /** Stores the module's xmpp-server key once the table exists. */
  registerKey: (env: Record<string, string>) => Promise<void>;
  target: NativeTarget;
  /** The module's xmpp-server key, for timing the routes it calls without Prosody in between. */
  key: string;
}

export const startInAppProsody = async (): Promise<InAppSetup> => {
  const port = await freePort();
  const secret = generateApiKeySecret();
  const prosody = await startProsody({
    domain: IN_APP_DOMAIN,
    // The module's own per-address preauth limit is off: every bench request comes from 127.0.0.1.
    xmppInvites: { url: `http://127.0.0.1:${port}`, key: secret, preauthPerMinute: 0, timeoutSeconds: 10 },
  });
  return {
    prosody,
    port,
    env: (native) => {
      const caFile = join(native.dir, 'bench-ca.pem');
      writeFileSync(caFile, readFileSync(native.caFile, 'utf8') + readFileSync(prosody.caFile, 'utf8'));
      return {
        XMPP_SERVERS: JSON.stringify({
          [IN_APP_DOMAIN]: {
            kind: 'prosody',
            service: prosody.service,
            adminJid: prosody.adminJid,
            adminPassword: prosody.adminPassword,
            inAppInvites: true,
          },
        }),
        INVITES_DOMAINS: `${native.domain},${IN_APP_DOMAIN}`,
        XMPP_TLS_CA_FILE: caFile,
      };
    },
    registerKey: async (env) => {
      const db = DynamoDBDocumentClient.from(
        new DynamoDBClient({
          endpoint: env.AWS_ENDPOINT_URL_DYNAMODB,
          region: 'us-east-1',
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        })
      );
      const store = new DynamoDBApiKeyStore({ tableName: env.INVITES_TABLE as string, client: db });
      await createApiKey({ store, clock: systemClock }, { name: 'prosody-inapp', domains: [IN_APP_DOMAIN], kind: 'xmpp-server', secret });
    },
    target: { host: '127.0.0.1', port: prosody.c2sPort, domain: IN_APP_DOMAIN, caFile: prosody.caFile },
    key: secret,
  };
};
