import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiKey, generateApiKeySecret } from '../../lib/apiKeys/apiKeys.js';
import { DynamoDBApiKeyStore } from '../../lib/adapters/dynamodb/DynamoDBApiKeyStore.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startDynamoDBLocal, type LocalDynamoDB } from './dynamodb.js';
import { freePort, startChild, waitFor, type Child } from './process.js';
import type { LocalXmpp } from './backports.js';
import { startEjabberd, type LocalEjabberd } from './ejabberd.js';
import { startProsody, type LocalProsody } from './prosody.js';
import type { LocalXmppServer } from './xmppServer.js';
import { createTableFromInfra, localClient } from './table.js';
import { startLocalNotifier } from './streamPoller.js';

/** The functions' settings for a private Prosody (XMPP_* shorthand). */
export const prosodyEnv = (p: LocalProsody): Record<string, string> => ({
  XMPP_KIND: 'prosody',
  XMPP_DOMAIN: p.domain,
  XMPP_SERVICE: p.service,
  XMPP_ADMIN_JID: p.adminJid,
  XMPP_ADMIN_PASSWORD: p.adminPassword,
  XMPP_TLS_CA_FILE: p.caFile,
  INVITES_DOMAINS: p.domain,
  // The server runs mod_xmpp_invites: the landing page may offer "open in my app".
  ...(p.xmppInvites ? { XMPP_IN_APP_INVITES: 'true' } : {}),
});

/** The functions' settings for a private ejabberd running mod_xmpp_invites (XMPP_* shorthand). */
export const ejabberdEnv = (e: LocalEjabberd): Record<string, string> => ({
  XMPP_KIND: 'ejabberd',
  XMPP_DOMAIN: e.domain,
  XMPP_SERVICE: e.service,
  XMPP_ADMIN_JID: e.adminJid,
  XMPP_ADMIN_PASSWORD: e.adminPassword,
  XMPP_API_URL: e.apiUrl,
  XMPP_TLS_CA_FILE: e.caFile,
  INVITES_DOMAINS: e.domain,
  XMPP_IN_APP_INVITES: 'true',
});

/** What `npm start` prints about the private XMPP server, whichever it is. */
export type LocalServer = Pick<
  LocalXmppServer,
  'label' | 'domain' | 'service' | 'c2sPort' | 'adminJid' | 'adminPassword' | 'caFile' | 'dir'
> & {
  /** It runs this repository's mod_xmpp_invites (in-app invites on). */
  xmppInvites: boolean;
};

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface StackOptions {
  /** HTTP port of serverless-offline; 0 or undefined picks a free one. */
  port?: number;
  /** Serve the functions over HTTP (serverless-offline). */
  http?: boolean;
  /** Start a private XMPP server; false when XMPP_* point at an existing server. */
  prosody?: boolean;
  /** Which private server (LOCAL_XMPP): the system's Prosody (default), Prosody 13, ejabberd 23.01 or 24.12. */
  xmpp?: LocalXmpp;
  /** Settings of the private Prosody (its log level; mod_xmpp_invites' preauth limit). */
  prosodyOptions?: { logLevel?: 'debug' | 'info'; preauthPerMinute?: number };
  tableName?: string;
  devApiKey?: string;
  /** Extra environment for the functions. */
  env?: Record<string, string>;
  /**
   * Feed the table's stream to functions/notifier.ts (default: yes). It counts
   * the onboarding funnel's invites and registrations (#21) and sends the
   * webhooks of WEBHOOK_ENDPOINTS, if any.
   */
  notifier?: boolean;
  log?: (line: string) => void;
}

export interface Stack {
  env: Record<string, string>;
  dynamodb: LocalDynamoDB;
  prosody?: LocalProsody;
  /** The private ejabberd, when `xmpp` chose one. */
  ejabberd?: LocalEjabberd;
  /** The private server, Prosody or ejabberd. */
  server?: LocalServer;
  baseUrl?: string;
  apiKey: string;
  /** The xmpp-server key the private server's mod_xmpp_invites uses (Prosody's or ejabberd's). */
  prosodyKey?: string;
  offline?: Child;
  stop: () => Promise<void>;
}

/**
 * The whole local stack, shared by `npm start` and the tests: DynamoDB Local
 * with the table from infra/, a private Prosody, the functions served by
 * serverless-offline. Everything on loopback; `stop()` ends every child.
 */
export const startStack = async (options: StackOptions = {}): Promise<Stack> => {
  const log = options.log ?? (() => undefined);
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    log('starting DynamoDB Local');
    const dynamodb = await startDynamoDBLocal();
    stops.push(dynamodb.stop);
    const tableName = options.tableName ?? 'xmpp-invites-local';
    const raw = localClient(dynamodb.endpoint);
    await createTableFromInfra(raw, tableName);

    const env: Record<string, string> = {
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'us-east-1',
      INVITES_TABLE: tableName,
      // The claim fingerprint key (lib/invites/password.ts): one per stack, shared by its functions.
      CLAIM_KEY: randomBytes(32).toString('base64url'),
      // The admin console's session key (lib/web/console/session.ts, #21).
      CONSOLE_SESSION_KEY: randomBytes(32).toString('base64url'),
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    };

    const apiKey = options.devApiKey ?? generateApiKeySecret();
    const keys = new DynamoDBApiKeyStore({ tableName, client: DynamoDBDocumentClient.from(raw) });
    await createApiKey({ store: keys, clock: systemClock }, { name: 'development', domains: ['*'], secret: apiKey, allowReset: true });

    // serverless-offline's port is chosen first: the private Prosody's module
    // is started already pointed at it.
    const port = options.http !== false ? options.port || (await freePort()) : undefined;

    let prosody: LocalProsody | undefined;
    let ejabberd: LocalEjabberd | undefined;
    let server: LocalServer | undefined;
    let prosodyKey: string | undefined;
    const xmpp = options.xmpp ?? 'prosody';
    const domain = 'localhost';
    // The module's own credential: only the /xmpp/* routes, only this domain.
    const moduleKey = async (name: string) =>
      (await createApiKey({ store: keys, clock: systemClock }, { name: `${name}-${domain}`, domains: [domain], kind: 'xmpp-server' }))
        .secret;
    // The module's settings: pointed at serverless-offline, when it runs.
    const moduleSettings = (key: string) =>
      port ? { url: `http://127.0.0.1:${port}`, key, preauthPerMinute: options.prosodyOptions?.preauthPerMinute } : undefined;
    if (options.prosody !== false && xmpp.startsWith('ejabberd')) {
      const version = xmpp === 'ejabberd-24' ? '24.12' : '23.01';
      log(`starting a private ejabberd ${version} with mod_xmpp_invites`);
      prosodyKey = await moduleKey('ejabberd');
      ejabberd = await startEjabberd({ version, domain, invites: moduleSettings(prosodyKey) });
      stops.push(ejabberd.stop);
      Object.assign(env, ejabberdEnv(ejabberd));
      if (!port) delete env.XMPP_IN_APP_INVITES;
      server = { ...ejabberd, xmppInvites: Boolean(port) };
    } else if (options.prosody !== false) {
      log('starting a private Prosody with mod_xmpp_invites');
      prosodyKey = await moduleKey('prosody');
      prosody = await startProsody({
        version: xmpp === 'prosody-13' ? '13' : '0.12',
        domain,
        logLevel: options.prosodyOptions?.logLevel,
        xmppInvites: moduleSettings(prosodyKey),
      });
      stops.push(prosody.stop);
      Object.assign(env, prosodyEnv(prosody));
      server = { ...prosody, xmppInvites: Boolean(prosody.xmppInvites) };
    }
    Object.assign(env, options.env ?? {});
    if (options.notifier ?? true) {
      log('feeding the table stream to the notifier (funnel counters, webhooks)');
      stops.push((await startLocalNotifier(env, log)).stop);
    }

    let baseUrl: string | undefined;
    let offline: Child | undefined;
    if (port) {
      baseUrl = `http://localhost:${port}`;
      env.INVITES_BASE_URL ??= baseUrl;
      const lambdaPort = await freePort();
      const require = createRequire(import.meta.url);
      const sls = join(dirname(require.resolve('serverless/package.json')), 'bin', 'serverless.js');
      log('serving the functions with serverless-offline');
      const workFolder = `.esbuild-offline-${process.pid}-${port}`;
      stops.push(async () => rmSync(join(ROOT, workFolder), { recursive: true, force: true }));
      offline = startChild(
        process.execPath,
        [
          sls,
          'offline',
          'start',
          '--stage',
          'local',
          '--host',
          '127.0.0.1',
          '--httpPort',
          String(port),
          '--lambdaPort',
          String(lambdaPort),
          '--localEnvironment',
        ],
        {
          cwd: ROOT,
          env: { ...process.env, ...env, ESBUILD_WORK_FOLDER: workFolder, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
          name: 'serverless-offline',
        }
      );
      stops.push(offline.stop);
      const child = offline;
      await waitFor(
        'serverless-offline',
        async () => (await fetch(`http://127.0.0.1:${port}/invites/AAAAAAAAAAAAAAAAAAAAAAAA`)).status === 404,
        // It bundles every function first: minutes on a busy two-core machine.
        300_000,
        child.process
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${child.output()}`);
      });
      if (server?.xmppInvites) {
        // The module's first call to each /xmpp/* function would otherwise pay
        // serverless-offline's cold start inside its bounded wait. Unsigned
        // requests: 401, nothing counted or stored. Not awaited: startup
        // does not wait for it.
        for (const route of ['preauth', 'register', 'subscribe', 'invites']) {
          void fetch(`http://127.0.0.1:${port}/xmpp/${route}`, { method: 'POST' }).then(
            (r) => r.arrayBuffer(),
            () => undefined
          );
        }
      }
    }
    return { env, dynamodb, prosody, ejabberd, server, baseUrl, apiKey, prosodyKey, offline, stop };
  } catch (e) {
    await stop();
    throw e;
  }
};
