import type { TestProject } from 'vitest/node';
import { localXmppFrom } from '../../scripts/local/backports.js';
import type { ProsodyAccess } from '../../scripts/local/prosody.js';
import { startStack } from '../../scripts/local/stack.js';
import { signupTestEnv } from './webhookSources.js';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: {
      env: Record<string, string>;
      baseUrl: string;
      apiKey: string;
      prosody: ProsodyAccess;
    };
  }
}

/**
 * Every test request comes from 127.0.0.1: the shared stack counts them (the
 * limiter runs) but with limits no test run reaches. The 429 itself is tested
 * in-process with low limits (test/integration/abuseLimits.test.ts).
 */
const TEST_RATE_LIMITS = {
  RATE_LIMIT_CHECK_PER_IP: '1000000',
  RATE_LIMIT_CHECK_PER_TOKEN: '1000000',
  RATE_LIMIT_REDEEM_PER_IP: '1000000',
  RATE_LIMIT_REDEEM_PER_TOKEN: '1000000',
  RATE_LIMIT_LANDING_PER_IP: '1000000',
  RATE_LIMIT_LANDING_PER_TOKEN: '1000000',
  // Every console test file signs in from 127.0.0.1; the limit itself is tested in process (console.browser.test.ts).
  CONSOLE_SIGNINS_PER_IP: '1000000',
};

/**
 * One local stack for the integration run: DynamoDB Local, a private Prosody,
 * the functions behind serverless-offline. Stopped after the run, even when
 * tests fail.
 */
export default async function setup(project: TestProject) {
  const stack = await startStack({
    // LOCAL_XMPP=prosody-13 runs every test of the shared stack on Prosody 13.
    // The ejabberd choices leave it on Prosody: the ejabberd files start their
    // own servers, and the four-server files run whatever LOCAL_XMPP says.
    xmpp: localXmppFrom(process.env.LOCAL_XMPP) === 'prosody-13' ? 'prosody-13' : 'prosody',
    env: { INVITES_DOMAINS: 'localhost,other.example', ...TEST_RATE_LIMITS, ...signupTestEnv() },
    // Debug lines too (the HTTP client's among them), so the native suite's
    // "no token in the log" covers everything Prosody can write; every test
    // app checks a token from 127.0.0.1, so the module's per-address limit is out of reach.
    prosodyOptions: { logLevel: 'debug', preauthPerMinute: 1_000_000 },
  });
  const p = stack.prosody!;
  project.provide('stack', {
    env: stack.env,
    baseUrl: stack.baseUrl!,
    apiKey: stack.apiKey,
    prosody: {
      domain: p.domain,
      service: p.service,
      adminJid: p.adminJid,
      adminPassword: p.adminPassword,
      operatorJid: p.operatorJid,
      operatorPassword: p.operatorPassword,
      caFile: p.caFile,
      dir: p.dir,
      configFile: p.configFile,
    },
  });
  return async () => {
    await stack.stop();
  };
}
