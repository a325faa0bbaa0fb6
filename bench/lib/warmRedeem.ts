/**
 * The warm redeem use case in this process (no HTTP layer, no
 * serverless-offline: what a warm Lambda spends), interleaved sample by
 * sample with its floor (floors.ts) on the same DynamoDB client and the same
 * XMPP server. Called as the server module's route (and a single-domain
 * deployment's) calls it: the domain known before the invite is read.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDBInviteStore } from '../../lib/adapters/dynamodb/DynamoDBInviteStore.js';
import { claimKeyResolver } from '../../lib/adapters/aws/secrets.js';
import { ProvisionerRegistryFromConfig } from '../../lib/adapters/xmpp/ProvisionerRegistry.js';
import { loadConfig } from '../../lib/config.js';
import { issueInvite } from '../../lib/invites/issue.js';
import { redeemInvite } from '../../lib/invites/redeem.js';
import { systemClock } from '../../lib/ports/Clock.js';
import { hashToken } from '../../lib/token.js';
import { type FloorReport, type FloorSample, type FloorTarget, floorProbe, summarizeFloor } from './floors.js';
import { summarize, time, type Summary } from './stats.js';

/** The floor's target, with the stack's settings in place of a client of its own. */
export interface WarmRedeemTarget extends Omit<FloorTarget, 'db' | 'table'> {
  env: Record<string, string>;
  password: string;
}

export const WARM_SAMPLES = 30;
const WARM_UP = 5;

const uniq = (prefix: string) => `${prefix}${randomBytes(5).toString('hex')}`;

export const benchWarmRedeem = async (t: WarmRedeemTarget): Promise<{ inProcess: Summary; floor: FloorReport }> => {
  const config = loadConfig({ ...t.env });
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: t.env.AWS_ENDPOINT_URL_DYNAMODB,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
    { marshallOptions: { removeUndefinedValues: true } }
  );
  const table = config.tableName;
  const store = new DynamoDBInviteStore({ tableName: table, client: db });
  const xmpp = new ProvisionerRegistryFromConfig(config.xmpp, { tlsCaFile: config.xmppTlsCaFile });
  const probe = floorProbe({ db, table, ...t });
  const deps = { store, xmpp, clock: systemClock, config, claimKey: claimKeyResolver(config) };
  const actor = { source: 'bench', domains: ['*'], admin: true };
  const issue = async () =>
    (await issueInvite({ store, clock: systemClock, config }, actor, { inviter: t.inviter, domain: t.domain })).token;
  const inProcess: number[] = [];
  const floor: FloorSample[] = [];
  try {
    await probe.connect();
    await xmpp.forDomain(t.domain);
    for (let i = 0; i < WARM_SAMPLES + WARM_UP; i++) {
      const [token, floorToken] = [await issue(), await issue()];
      const redeem = async () => {
        const [ms, result] = await time(() => redeemInvite(deps, token, { username: uniq('ip'), password: t.password, domain: t.domain }));
        if (result.warnings.length > 0) throw new Error(`in-process redeem: ${result.warnings.join('; ')}`);
        return ms;
      };
      const bare = () => probe.sample(hashToken(floorToken), `${uniq('fl')}@${t.domain}`, t.password);
      // Alternating which goes first.
      let ms: number;
      let sample: FloorSample;
      if (i % 2 === 0) {
        ms = await redeem();
        sample = await bare();
      } else {
        sample = await bare();
        ms = await redeem();
      }
      if (i < WARM_UP) continue;
      inProcess.push(ms);
      floor.push(sample);
    }
  } finally {
    await probe.close();
    await xmpp.close();
  }
  return { inProcess: summarize(inProcess), floor: summarizeFloor(floor) };
};
