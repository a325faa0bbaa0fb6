/**
 * `npm run deploy -- --stage prod [serverless deploy options]`: the preflight
 * (lib/deploy/preflight.ts: every SSM parameter the stage's configuration
 * names exists), then `serverless deploy` with the same arguments.
 * `--preflight-only` stops after the check.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SsmParameterStore } from '../lib/adapters/aws/SsmParameterStore.js';
import { optionOf, preflight, preflightMessage } from '../lib/deploy/preflight.js';

const args = process.argv.slice(2);
const only = args.includes('--preflight-only');
const rest = args.filter((a) => a !== '--preflight-only');
// The same defaults as serverless.yml's provider.stage and provider.region.
const stage = optionOf(rest, 'stage', 's') ?? 'dev';
const region = optionOf(rest, 'region', 'r') ?? process.env.AWS_REGION ?? 'eu-west-1';

const result = await preflight(new SsmParameterStore(new SSMClient({ region })), process.env, stage);
for (const w of result.warnings) console.warn(`preflight: warning: ${w}`);
if (!result.ok) {
  console.error(preflightMessage(result, stage));
  process.exit(1);
}
console.log(preflightMessage(result, stage));
if (only) process.exit(0);

const serverless = fileURLToPath(new URL('../node_modules/serverless/bin/serverless.js', import.meta.url));
const run = spawnSync(process.execPath, [serverless, 'deploy', ...rest], { stdio: 'inherit' });
process.exit(run.status ?? 1);
