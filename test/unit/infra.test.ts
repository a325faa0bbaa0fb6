import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE, MetricName } from '../../functions/wiring/observability.js';
import { KeyPrefix, SortKey, TableSchema } from '../../lib/adapters/dynamodb/tableKeys.js';
import { SecretPaths } from '../../lib/config.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const templatePath = join(root, '.serverless', 'cloudformation-template-update-stack.json');
let template: { Resources: Record<string, { Type: string; Properties: any }> };

const sourceFiles = (dir: string): string[] =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(root, path)).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });

/** `npm run package` (bundles every function into .serverless), once per run of this file. */
let packagedDefault: Promise<void> | undefined;
const packageDefault = () => (packagedDefault ??= packageTemplate({}, ['--stage', 'dev']).then(() => undefined));

describe('the deployable template', () => {
  beforeAll(async () => {
    // osls builds the CloudFormation template offline, without AWS credentials.
    await packageDefault();
    template = JSON.parse(readFileSync(templatePath, 'utf8'));
  }, 180_000);

  it('passes cfn-lint', () => {
    // W3005: osls writes redundant DependsOn entries of its own.
    const out = (() => {
      try {
        return execFileSync('cfn-lint', ['-i', 'W3005', '--', templatePath], { encoding: 'utf8' });
      } catch (e) {
        const err = e as { stdout?: string; stderr?: string; code?: string };
        if (err.code === 'ENOENT') throw new Error('cfn-lint is not installed: pip install cfn-lint');
        return `${err.stdout ?? ''}${err.stderr ?? ''}` || 'cfn-lint failed';
      }
    })();
    expect(out).toBe('');
  }, 120_000);

  it('declares the table on demand, with TTL on expiresAt and point-in-time recovery', () => {
    const table = Object.values(template.Resources).find((r) => r.Type === 'AWS::DynamoDB::Table')!;
    expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(table.Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled).toBe(true);
  });

  it('runs every function on nodejs22.x arm64 with its own role', () => {
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThanOrEqual(7);
    const roles = new Set<string>();
    for (const f of functions) {
      expect(f.Properties.Runtime).toBe('nodejs22.x');
      expect(f.Properties.Architectures).toEqual(['arm64']);
      const role = JSON.stringify(f.Properties.Role);
      expect(role).not.toContain('IamRoleLambdaExecution');
      roles.add(role);
    }
    expect(roles.size).toBe(functions.length);
  });

  it('routes HEAD /i/{token} to the landing page function, like GET (apps that scan the QR code ask with HEAD)', () => {
    const routes = Object.values(template.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    const target = (key: string) => JSON.stringify(routes.find((r) => r.Properties.RouteKey === key)?.Properties.Target);
    expect(target('HEAD /i/{token}')).toContain('LandingPage');
    expect(target('HEAD /i/{token}')).toBe(target('GET /i/{token}'));
  });

  it('grants no wildcard actions, no Scan, and no secrets in plain environment variables', () => {
    const policies = JSON.stringify(
      Object.values(template.Resources)
        .filter((r) => r.Type === 'AWS::IAM::Role')
        .map((r) => r.Properties.Policies)
    );
    expect(policies).not.toMatch(/"(dynamodb|ssm|sqs|logs):\*"/);
    expect(policies).not.toContain('"*"');
    expect(policies).not.toContain('dynamodb:Scan');
    const env = JSON.stringify(
      Object.values(template.Resources)
        .filter((r) => r.Type === 'AWS::Lambda::Function')
        .map((r) => r.Properties.Environment)
    );
    expect(env).not.toMatch(/PASSWORD"\s*:|SECRET"\s*:/);
  });
});

describe('the functions', () => {
  it('never Scan the table', () => {
    for (const file of [...sourceFiles('functions'), ...sourceFiles('lib')]) {
      const text = readFileSync(join(root, file), 'utf8');
      expect(text, file).not.toMatch(/\bScanCommand\b|\bScan\(/);
    }
  });
});

/**
 * What each function's role may do to which items, in terms of the one module
 * that defines the keys (lib/adapters/dynamodb/tableKeys.ts). A role that can touch
 * any other prefix (a public role writing KEY#, that is minting an API key)
 * fails here, and so does a change of prefix that infra/ did not follow.
 */
const P = KeyPrefix;
const EXPECTED_ITEM_ACCESS: Record<string, Record<string, string[]>> = {
  IssueInviteRole: {
    GetItem: [P.apiKey, P.account, P.jid, P.invite],
    PutItem: [P.invite, P.jid, P.account],
    UpdateItem: [P.allowance],
    Query: [P.allowance],
  },
  CheckInviteRole: { GetItem: [P.invite], UpdateItem: [P.rate] },
  ListInvitesRole: { GetItem: [P.apiKey], BatchGetItem: [P.invite] },
  ShowInviteRole: { GetItem: [P.apiKey], Query: [P.invite] },
  RevokeInviteRole: { GetItem: [P.apiKey, P.invite], UpdateItem: [P.invite, P.jid], PutItem: [P.adminAudit] },
  // STATS#: the onboarding funnel's counters (refusals, landing opens; lib/ports/FunnelCounters.ts).
  RedeemInviteRole: {
    GetItem: [P.invite, P.jid],
    PutItem: [P.invite, P.jid, P.brake, P.account],
    DeleteItem: [P.jid],
    UpdateItem: [P.invite, P.jid, P.rate, P.brake, P.stats],
  },
  LandingPageRole: { GetItem: [P.invite], UpdateItem: [P.rate, P.stats] },
  LandingSubmitRole: {
    GetItem: [P.invite, P.jid],
    PutItem: [P.invite, P.jid, P.brake, P.account],
    DeleteItem: [P.jid],
    UpdateItem: [P.invite, P.jid, P.rate, P.brake, P.stats],
  },
  RegisterRole: { PutItem: [P.jid, P.brake, P.account], DeleteItem: [P.jid], UpdateItem: [P.jid, P.rate, P.brake] },
  SignupWebhookRole: {
    GetItem: [P.invite, P.jid, P.signupEvent, P.account],
    PutItem: [P.invite, P.jid, P.signupEvent, P.account],
    UpdateItem: [P.allowance],
    Query: [P.allowance],
  },
  // The funnel's invites issued and registrations, from the stream: a dedupe marker (Put) and the day's ADD.
  NotifierRole: { GetItem: [P.invite], PutItem: [P.stats], UpdateItem: [P.stats] },
  // The server modules' routes (modules/README.md): each reads its caller's key.
  XmppPreauthRole: { GetItem: [P.apiKey, P.invite], UpdateItem: [P.rate] },
  XmppRegisterRole: {
    GetItem: [P.apiKey, P.invite, P.jid],
    PutItem: [P.invite, P.jid, P.brake, P.account],
    DeleteItem: [P.jid],
    UpdateItem: [P.invite, P.jid, P.rate, P.brake, P.stats],
  },
  XmppSubscribeRole: { GetItem: [P.apiKey, P.invite, P.jid], PutItem: [P.invite, P.jid], UpdateItem: [P.invite, P.rate] },
  XmppInvitesRole: {
    GetItem: [P.apiKey, P.account, P.jid, P.invite],
    PutItem: [P.invite, P.jid, P.account],
    UpdateItem: [P.rate, P.allowance],
    Query: [P.allowance],
  },
  // Lineage (lib/lineage).
  ShowLineageRole: { GetItem: [P.apiKey, P.account, P.jid, P.invite], BatchGetItem: [P.account] },
  XmppAccountDeletedRole: {
    GetItem: [P.apiKey, P.account, P.jid, P.invite],
    BatchGetItem: [P.invite],
    UpdateItem: [P.invite, P.jid, P.account],
    PutItem: [P.account],
  },
  RevokeLineageRole: {
    GetItem: [P.apiKey],
    BatchGetItem: [P.invite, P.account],
    UpdateItem: [P.invite, P.jid],
    PutItem: [P.notice, P.adminAudit],
  },
  SuspendAccountRole: {
    GetItem: [P.apiKey, P.account, P.jid, P.invite],
    BatchGetItem: [P.invite],
    UpdateItem: [P.invite, P.jid, P.account],
    PutItem: [P.account, P.notice, P.adminAudit],
  },
  UnsuspendAccountRole: {
    GetItem: [P.apiKey, P.account, P.jid, P.invite],
    UpdateItem: [P.account],
    PutItem: [P.account, P.notice, P.adminAudit],
  },
  // The admin console (#21): its session's key, the sign-in limit, list / issue / revoke, containment, its audit trail.
  AdminConsoleRole: {
    GetItem: [P.apiKey, P.invite, P.jid, P.account],
    // The keys page: create and revoke (KEY#); its list is a byDomain Query. An invite's page Queries its partition (INV#).
    PutItem: [P.invite, P.jid, P.account, P.notice, P.adminAudit, P.apiKey],
    UpdateItem: [P.invite, P.jid, P.rate, P.allowance, P.account, P.apiKey],
    Query: [P.allowance, P.adminAudit, P.invite, P.stats],
    BatchGetItem: [P.invite],
  },
};
/** Which secrets (paths below secretsPath) each role may read. */
const EXPECTED_SECRETS: Record<string, string[]> = {
  RedeemInviteRole: [SecretPaths.xmpp, SecretPaths.claims],
  LandingSubmitRole: [SecretPaths.xmpp, SecretPaths.claims],
  RegisterRole: [SecretPaths.xmpp],
  XmppRegisterRole: [SecretPaths.xmpp, SecretPaths.claims],
  SignupWebhookRole: [SecretPaths.signup, SecretPaths.xmpp],
  // Issuing asks the server whether a preset username exists (containment, #18).
  IssueInviteRole: [SecretPaths.xmpp],
  XmppInvitesRole: [SecretPaths.xmpp],
  NotifierRole: [SecretPaths.webhooksOut],
  AdminConsoleRole: [SecretPaths.console, SecretPaths.xmpp],
};
const ITEM_ACTIONS = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'ConditionCheckItem', 'BatchGetItem', 'BatchWriteItem'];

describe('least privilege, derived from lib/adapters/dynamodb/tableKeys.ts', () => {
  beforeAll(() => {
    template ??= JSON.parse(readFileSync(templatePath, 'utf8'));
  });
  const statementsOf = (role: string): any[] =>
    template.Resources[role]!.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
  const isTable = (resource: unknown) => JSON.stringify(resource) === JSON.stringify({ 'Fn::GetAtt': ['InvitesTable', 'Arn'] });

  it('limits every item action of every role to the key prefixes its function uses', () => {
    const roles = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Role')
      .map(([name]) => name);
    const withTable = roles.filter((role) => statementsOf(role).some((s) => [s.Resource].flat().some(isTable)));
    expect(withTable.sort()).toEqual(Object.keys(EXPECTED_ITEM_ACCESS).sort());
    for (const role of withTable) {
      const granted: Record<string, Set<string>> = {};
      for (const s of statementsOf(role)) {
        if (![s.Resource].flat().some(isTable)) continue;
        const leading = s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
        expect(leading, `${role}: ${JSON.stringify(s.Action)} on the table without dynamodb:LeadingKeys`).toBeDefined();
        for (const action of [s.Action].flat() as string[]) {
          const name = action.replace(/^dynamodb:/, '');
          expect(ITEM_ACTIONS, `${role}: ${action}`).toContain(name);
          for (const pattern of leading as string[]) {
            expect(pattern, `${role}: a LeadingKeys pattern is a prefix and *`).toMatch(/^[A-Z]+#\*$/);
            granted[name] ??= new Set();
            granted[name].add(pattern.slice(0, -1));
          }
        }
      }
      const actual = Object.fromEntries(Object.entries(granted).map(([a, set]) => [a, [...set].sort()]));
      const expected = Object.fromEntries(Object.entries(EXPECTED_ITEM_ACCESS[role]!).map(([a, list]) => [a, [...list].sort()]));
      expect(actual, role).toEqual(expected);
    }
  });

  it('lets each role read only its own kind of secret', () => {
    const roles = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Role')
      .map(([name]) => name);
    for (const role of roles) {
      const paths = statementsOf(role)
        .filter((s) => [s.Action].flat().includes('ssm:GetParameter'))
        .flatMap((s) => [s.Resource].flat())
        .map((r: any) => /parameter\/xmpp-invites\/dev(\/.*)\*$/.exec(r['Fn::Sub'] ?? '')?.[1] ?? `unexpected ${JSON.stringify(r)}`);
      expect(paths.sort(), role).toEqual([...(EXPECTED_SECRETS[role] ?? [])].sort());
    }
  });

  it('filters the notifier stream with the invite and audit sort keys, and names the indexes of the schema', () => {
    const mapping = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::EventSourceMapping')!;
    const patterns = JSON.stringify(mapping.Properties.FilterCriteria);
    expect(patterns).toContain(JSON.stringify({ dynamodb: { Keys: { sk: { S: [SortKey.invite] } } } }).replace(/"/g, '\\"'));
    expect(patterns).toContain(JSON.stringify({ dynamodb: { Keys: { sk: { S: [{ prefix: SortKey.audit }] } } } }).replace(/"/g, '\\"'));
    // The onboarding funnel's registrations (lib/adapters/dynamodb/funnelStreamRecords.ts).
    expect(patterns).toContain(
      JSON.stringify({ eventName: ['INSERT'], dynamodb: { Keys: { sk: { S: [SortKey.lineage] } } } }).replace(/"/g, '\\"')
    );
    const table = Object.values(template.Resources).find((r) => r.Type === 'AWS::DynamoDB::Table')!;
    const indexes = table.Properties.GlobalSecondaryIndexes.map((i: any) => [i.IndexName, i.KeySchema.map((k: any) => k.AttributeName)]);
    const { byInviter, byDomain, bySource } = TableSchema;
    expect(indexes).toEqual([byInviter, byDomain, bySource].map((i) => [i.name, [i.pk, i.sk]]));
    expect(table.Properties.KeySchema.map((k: any) => k.AttributeName)).toEqual([TableSchema.partitionKey, TableSchema.sortKey]);
  });
});

/**
 * The production variants of the template (infra/operations.cjs, docs/deploy.md):
 * each is `serverless package` with its settings in the environment, reusing
 * the default package's bundles (ESBUILD_SKIP_BUILD) so only the template is
 * made again (a few seconds each); all go through one cfn-lint.
 */
const CERTIFICATE = 'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666';
const VARIANTS = {
  domain: { INVITES_DOMAIN: 'invites.example.com', INVITES_CERTIFICATE_ARN: CERTIFICATE },
  vpc: {
    VPC_SUBNET_IDS: 'subnet-0123456789abcdef0, subnet-0123456789abcdef1',
    VPC_SECURITY_GROUP_IDS: 'sg-0123456789abcdef0',
    VPC_ID: 'vpc-0123456789abcdef0',
    VPC_ROUTE_TABLE_IDS: 'rtb-0123456789abcdef0,rtb-0123456789abcdef1',
  },
  alarmEmail: { ALARM_EMAIL: 'ops@example.com' },
} as const;
type Template = { Resources: Record<string, { Type: string; Properties: any }>; Outputs?: Record<string, any> };

/** The caller's own production settings would change what each variant is. */
const withoutOperations = (env: NodeJS.ProcessEnv) =>
  Object.fromEntries(
    Object.entries(env).filter(
      ([k]) => !/^(INVITES_DOMAIN|INVITES_CERTIFICATE_ARN|INVITES_BASE_URL|VPC_\w+|ALARM_EMAIL|ESBUILD_SKIP_BUILD)$/.test(k)
    )
  );

function packageTemplate(env: Record<string, string>, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(root, 'node_modules/serverless/bin/serverless.js'), 'package', ...args],
      { cwd: root, env: { ...withoutOperations(process.env), SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', ...env } },
      (error, stdout, stderr) => (error ? reject(new Error(`serverless package failed:\n${stdout}${stderr}`)) : resolve(stdout))
    );
  });
}

describe('the template variants: own domain, VPC, alarms with email', () => {
  let dir = '';
  const variants = {} as Record<keyof typeof VARIANTS, Template>;
  const pathOf = (name: string) => join(dir, name, 'cloudformation-template-update-stack.json');
  const ofType = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);
  const functionsOf = (t: Template) => ofType(t, 'AWS::Lambda::Function');

  beforeAll(async () => {
    await packageDefault();
    template ??= JSON.parse(readFileSync(templatePath, 'utf8'));
    dir = mkdtempSync(join(tmpdir(), 'xmpp-invites-variants-'));
    // Every package starts by emptying .serverless: take the bundles first (and the
    // default package, put back afterwards), then package one variant at a time.
    cpSync(join(root, '.serverless'), join(dir, 'default'), { recursive: true });
    const zips = readdirSync(join(root, '.serverless')).filter((f) => f.endsWith('.zip'));
    for (const name of Object.keys(VARIANTS)) {
      mkdirSync(join(dir, name));
      for (const zip of zips) copyFileSync(join(root, '.serverless', zip), join(dir, name, zip));
    }
    for (const [name, env] of Object.entries(VARIANTS)) {
      await packageTemplate({ ...env, ESBUILD_SKIP_BUILD: 'true', ESBUILD_WORK_FOLDER: `.esbuild-variant-${name}` }, [
        '--stage',
        'dev',
        '--package',
        join(dir, name),
      ]);
      variants[name as keyof typeof VARIANTS] = JSON.parse(readFileSync(pathOf(name), 'utf8'));
    }
  }, 240_000);
  afterAll(() => {
    if (!dir) return;
    if (existsSync(join(dir, 'default'))) cpSync(join(dir, 'default'), join(root, '.serverless'), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('each passes cfn-lint', () => {
    const out = (() => {
      try {
        return execFileSync('cfn-lint', ['-i', 'W3005', '--', ...Object.keys(VARIANTS).map(pathOf)], { encoding: 'utf8' });
      } catch (e) {
        const err = e as { stdout?: string; stderr?: string; code?: string };
        if (err.code === 'ENOENT') throw new Error('cfn-lint is not installed: pip install cfn-lint');
        return `${err.stdout ?? ''}${err.stderr ?? ''}` || 'cfn-lint failed';
      }
    })();
    expect(out).toBe('');
  }, 120_000);

  it('by default: no custom domain, no VPC, links on the API own URL, an alarm topic with no subscription', () => {
    for (const type of [
      'AWS::ApiGatewayV2::DomainName',
      'AWS::ApiGatewayV2::ApiMapping',
      'AWS::EC2::VPCEndpoint',
      'AWS::SNS::Subscription',
    ]) {
      expect(ofType(template, type), type).toEqual([]);
    }
    for (const [id, f] of functionsOf(template)) {
      expect(f.Properties.VpcConfig, id).toBeUndefined();
      expect(f.Properties.Environment.Variables.INVITES_BASE_URL, id).toEqual({
        'Fn::Sub': 'https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}',
      });
    }
    expect(ofType(template, 'AWS::SNS::Topic').map(([id]) => id)).toEqual(['AlarmTopic']);
  });

  it('own domain: the API custom domain mapped to the HTTP API stage, and links on https://INVITES_DOMAIN', () => {
    const t = variants.domain;
    expect(t.Resources.ApiDomainName?.Properties).toEqual({
      DomainName: 'invites.example.com',
      DomainNameConfigurations: [{ CertificateArn: CERTIFICATE, EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' }],
    });
    expect(t.Resources.ApiDomainMapping?.Properties).toEqual({
      ApiId: { Ref: 'HttpApi' },
      DomainName: { Ref: 'ApiDomainName' },
      Stage: { Ref: 'HttpApiStage' },
    });
    expect(t.Outputs?.ApiDomainTarget?.Value).toEqual({ 'Fn::GetAtt': ['ApiDomainName', 'RegionalDomainName'] });
    for (const [id, f] of functionsOf(t))
      expect(f.Properties.Environment.Variables.INVITES_BASE_URL, id).toBe('https://invites.example.com');
    expect(ofType(t, 'AWS::EC2::VPCEndpoint')).toEqual([]);
  });

  it('VPC: only the functions that talk to the XMPP server, with ENI rights, and the DynamoDB and SSM endpoints', () => {
    const t = variants.vpc;
    const inVpc = functionsOf(t)
      .filter(([, f]) => f.Properties.VpcConfig)
      .map(([id]) => id)
      .sort();
    // Those that create accounts, and those that ask whether a preset name exists when issuing (the console too).
    expect(inVpc).toEqual([
      'AdminConsoleLambdaFunction',
      'IssueInviteLambdaFunction',
      'LandingSubmitLambdaFunction',
      'RedeemInviteLambdaFunction',
      'RegisterLambdaFunction',
      'SignupWebhookLambdaFunction',
      'XmppInvitesLambdaFunction',
      'XmppRegisterLambdaFunction',
    ]);
    for (const id of inVpc) {
      const f = t.Resources[id]!;
      expect(f.Properties.VpcConfig).toEqual({
        SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
        SecurityGroupIds: ['sg-0123456789abcdef0'],
      });
      const role = t.Resources[f.Properties.Role['Fn::GetAtt'][0]]!;
      expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toContain('AWSLambdaVPCAccessExecutionRole');
    }
    const withEni = ofType(t, 'AWS::IAM::Role').filter(([, r]) => r.Properties.ManagedPolicyArns);
    expect(withEni).toHaveLength(inVpc.length);
    const endpoints = Object.fromEntries(
      ofType(t, 'AWS::EC2::VPCEndpoint').map(([, r]) => [r.Properties.ServiceName['Fn::Sub'], r.Properties])
    );
    expect(Object.keys(endpoints).sort()).toEqual(['com.amazonaws.${AWS::Region}.dynamodb', 'com.amazonaws.${AWS::Region}.ssm']);
    expect(endpoints['com.amazonaws.${AWS::Region}.dynamodb']).toMatchObject({
      VpcEndpointType: 'Gateway',
      VpcId: 'vpc-0123456789abcdef0',
      RouteTableIds: ['rtb-0123456789abcdef0', 'rtb-0123456789abcdef1'],
    });
    expect(endpoints['com.amazonaws.${AWS::Region}.ssm']).toMatchObject({ VpcEndpointType: 'Interface', PrivateDnsEnabled: true });
    expect(t.Resources.VpcEndpointSecurityGroup?.Properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ FromPort: 443, ToPort: 443, SourceSecurityGroupId: 'sg-0123456789abcdef0' }),
    ]);
  });

  it('alarms with email: the address subscribes to the alarm topic', () => {
    expect(ofType(variants.alarmEmail, 'AWS::SNS::Subscription').map(([, r]) => r.Properties)).toEqual([
      { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: { Ref: 'AlarmTopic' } },
    ]);
  });
});

describe('alarms and dashboard', () => {
  beforeAll(async () => {
    await packageDefault();
    template ??= JSON.parse(readFileSync(templatePath, 'utf8'));
  }, 180_000);
  const alarms = () => Object.values(template.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
  const alarmNames = () => alarms().map((a) => a.Properties.AlarmName as string);

  it('has a 5xx-rate alarm per HTTP function, an errors alarm per other function and a throttles alarm per function', () => {
    const fns = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    const http = new Set(
      Object.values(template.Resources)
        .filter((r) => r.Type === 'AWS::ApiGatewayV2::Integration')
        .map((r) => JSON.stringify(r.Properties.IntegrationUri).match(/"(\w+LambdaFunction)"/)?.[1])
    );
    for (const [id] of fns) {
      const name = id.replace(/LambdaFunction$/, '').replace(/^./, (c) => c.toLowerCase());
      expect(alarmNames(), id).toContain(`xmpp-invites-dev-${name}-throttles`);
      expect(alarmNames(), id).toContain(`xmpp-invites-dev-${name}-${http.has(id) ? '5xx-rate' : 'errors'}`);
    }
    const rate = alarms().find((a) => a.Properties.AlarmName === 'xmpp-invites-dev-redeemInvite-5xx-rate')!;
    const answered = rate.Properties.Metrics.find((m: any) => m.Id === 'answered5xx').MetricStat.Metric;
    expect(answered).toMatchObject({ Namespace: METRICS_NAMESPACE, MetricName: MetricName.serverErrors });
    expect(answered.Dimensions).toContainEqual({ Name: 'function', Value: { Ref: 'RedeemInviteLambdaFunction' } });
  });

  it('alarms on dead letters, redeems failing with xmpp-unavailable, XMPP login failures and the registration brake, all to the topic', () => {
    const byName = Object.fromEntries(alarms().map((a) => [a.Properties.AlarmName, a.Properties]));
    expect(byName['xmpp-invites-dev-webhook-dead-letters']).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(byName['xmpp-invites-dev-redeem-xmpp-unavailable']).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: MetricName.redeemRefused,
    });
    expect(byName['xmpp-invites-dev-redeem-xmpp-unavailable'].Dimensions).toContainEqual({ Name: 'reason', Value: 'xmpp-unavailable' });
    expect(byName['xmpp-invites-dev-xmpp-login-failed']).toMatchObject({ MetricName: MetricName.xmppLoginFailed });
    expect(byName['xmpp-invites-dev-registration-brake']).toMatchObject({ MetricName: 'RegistrationBrakeTripped' });
    const emitted = new Set<string>(Object.values(MetricName));
    for (const a of alarms()) {
      if (a.Properties.Namespace === METRICS_NAMESPACE) expect(emitted, a.Properties.AlarmName).toContain(a.Properties.MetricName);
      expect(a.Properties.AlarmActions, a.Properties.AlarmName).toEqual([{ Ref: 'AlarmTopic' }]);
      expect(a.Properties.AlarmDescription, a.Properties.AlarmName).toMatch(/docs\/operations\.md/);
    }
  });

  it('draws the dashboard from metrics the functions emit (functions/wiring/observability.ts)', () => {
    const dashboard = Object.values(template.Resources).find((r) => r.Type === 'AWS::CloudWatch::Dashboard')!;
    const body = JSON.parse(dashboard.Properties.DashboardBody['Fn::Sub']);
    const text = JSON.stringify(body);
    const used = new Set([...text.matchAll(/MetricName=\\"(\w+)\\"/g)].map((m) => m[1]));
    for (const w of body.widgets) for (const m of w.properties.metrics) if (Array.isArray(m) && m[0] === METRICS_NAMESPACE) used.add(m[1]);
    const emitted = new Set<string>(Object.values(MetricName));
    for (const name of used) expect(emitted, name).toContain(name);
    for (const name of [
      'InvitesIssued',
      'InvitesRedeemed',
      'RedeemRefused',
      'RedeemDuration',
      'InAppRegistrationDuration',
      'XmppLoginFailed',
    ]) {
      expect(used, name).toContain(name);
    }
    for (const path of ['web', 'app', 'api'])
      for (const stat of ['p50', 'p99']) expect(text).toContain(`"path","${path}",{"stat":"${stat}"`);
  });
});
