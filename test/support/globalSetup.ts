import type { TestProject } from 'vitest/node';
import { startStack } from '../../scripts/local/stack.js';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: {
      env: Record<string, string>;
      baseUrl: string;
      apiKey: string;
      prosody: { domain: string; service: string; adminJid: string; adminPassword: string; caFile: string; dir: string; configFile: string };
    };
  }
}

/**
 * One local stack for the integration run: DynamoDB Local, a private Prosody,
 * the functions behind serverless-offline. Stopped after the run, even when
 * tests fail.
 */
export default async function setup(project: TestProject) {
  const stack = await startStack({ env: { INVITES_DOMAINS: 'localhost,other.example' } });
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
      caFile: p.caFile,
      dir: p.dir,
      configFile: p.configFile,
    },
  });
  return async () => {
    await stack.stop();
  };
}
