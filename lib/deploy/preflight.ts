/**
 * Before `serverless deploy`: does every SSM parameter the stage's
 * configuration names exist? One message lists all that are missing, so an
 * operator fixes them in one go instead of meeting them one failed request at
 * a time after the deploy (scripts/deploy.ts; docs/deploy.md).
 */
import { loadConfig } from '../config.js';
import type { ParameterStore } from '../ports/ParameterStore.js';

type Env = Record<string, string | undefined>;

export interface NamedParameter {
  name: string;
  /** Which setting names it. */
  what: string;
}

export interface PreflightResult {
  ok: boolean;
  /** Everything that stops the deploy, one line each. */
  problems: string[];
  /** What deploys but deserves a look (a secret stored as a plain String). */
  warnings: string[];
  parameters: NamedParameter[];
}

/** The service's secrets path of a stage, as serverless.yml's custom.secretsPath. */
export const secretsPathOf = (stage: string) => `/xmpp-invites/${stage}`;

/**
 * The environment the functions will see, as serverless.yml builds it: the
 * stage's secrets path, and its default claim key parameter.
 */
export const stageEnv = (env: Env, stage: string): Env => ({
  ...env,
  SECRETS_PATH: secretsPathOf(stage),
  CLAIM_KEY_PARAMETER: env.CLAIM_KEY_PARAMETER || `${secretsPathOf(stage)}/claims/fingerprint-key`,
});

/** Every SSM parameter the configuration names, and the settings that would put a secret in plain text instead. */
export const namedParameters = (env: Env): { parameters: NamedParameter[]; problems: string[] } => {
  const config = loadConfig(env);
  const parameters: NamedParameter[] = [];
  const problems: string[] = [];
  const servers = Object.values(config.xmpp);
  if (servers.length === 0)
    problems.push('no XMPP server is configured: set XMPP_SERVERS, or XMPP_KIND, XMPP_DOMAIN, XMPP_SERVICE and XMPP_ADMIN_JID');
  for (const s of servers) {
    if (s.adminPasswordParameter)
      parameters.push({ name: s.adminPasswordParameter, what: `the admin password of the XMPP server for ${s.domain}` });
    // A password given directly is for local runs: XMPP_ADMIN_PASSWORD never reaches the functions,
    // and in XMPP_SERVERS it would be a secret in their environment.
    else
      problems.push(
        `the XMPP server for ${s.domain} has its admin password in plain text: give adminPasswordParameter (XMPP_ADMIN_PASSWORD_PARAMETER) instead`
      );
  }
  if (config.claimKeyParameter)
    parameters.push({ name: config.claimKeyParameter, what: 'the claim fingerprint key (CLAIM_KEY_PARAMETER)' });
  for (const [name, s] of Object.entries(config.signupSources)) {
    if (s.secretParameter) parameters.push({ name: s.secretParameter, what: `the secret of signup source ${JSON.stringify(name)}` });
    else problems.push(`SIGNUP_SOURCES[${JSON.stringify(name)}] has its secret in plain text: give secretParameter instead`);
  }
  for (const e of config.webhooks.endpoints) {
    if (e.secretParameter) parameters.push({ name: e.secretParameter, what: `the secret of webhook endpoint ${JSON.stringify(e.name)}` });
    else problems.push(`WEBHOOK_ENDPOINTS[${JSON.stringify(e.name)}] has its secret in plain text: give secretParameter instead`);
  }
  return { parameters, problems };
};

export const preflight = async (store: ParameterStore, env: Env, stage: string): Promise<PreflightResult> => {
  let named: ReturnType<typeof namedParameters>;
  try {
    named = namedParameters(stageEnv(env, stage));
  } catch (error) {
    return { ok: false, problems: [(error as Error).message], warnings: [], parameters: [] };
  }
  const { parameters } = named;
  const problems = [...named.problems];
  const warnings: string[] = [];
  let types: Map<string, string>;
  try {
    types = parameters.length > 0 ? await store.types(parameters.map((p) => p.name)) : new Map();
  } catch (error) {
    problems.push(`cannot read the SSM parameters (${(error as Error).message}): deploy with credentials of the target account and region`);
    return { ok: false, problems, warnings, parameters };
  }
  for (const p of parameters) {
    const type = types.get(p.name);
    if (type === undefined) problems.push(`missing SSM parameter ${p.name} (${p.what})`);
    else if (type !== 'SecureString') warnings.push(`SSM parameter ${p.name} is a ${type}, not a SecureString (${p.what})`);
  }
  return { ok: problems.length === 0, problems, warnings, parameters };
};

/** The one message an operator reads. */
export const preflightMessage = (result: PreflightResult, stage: string): string =>
  result.ok
    ? `preflight: stage ${stage}: all ${result.parameters.length} SSM parameters exist`
    : [`preflight: stage ${stage} cannot be deployed yet:`, ...result.problems.map((p) => `  - ${p}`)].join('\n');

/** `--stage prod`, `--stage=prod` or `-s prod`; serverless's default is dev. */
export const optionOf = (args: string[], long: string, short: string): string | undefined => {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === `--${long}` || a === `-${short}`) return args[i + 1];
    if (a.startsWith(`--${long}=`)) return a.slice(long.length + 3);
  }
  return undefined;
};
