import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
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

describe('the deployable template', () => {
  beforeAll(() => {
    // osls builds the CloudFormation template offline, without AWS credentials.
    execFileSync(process.execPath, [join(root, 'node_modules/serverless/bin/serverless.js'), 'package', '--stage', 'dev'], {
      cwd: root,
      stdio: 'pipe',
      env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
    });
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
  IssueInviteRole: { GetItem: [P.apiKey, P.account], PutItem: [P.invite, P.jid] },
  CheckInviteRole: { GetItem: [P.invite], UpdateItem: [P.rate] },
  ListInvitesRole: { GetItem: [P.apiKey], BatchGetItem: [P.invite] },
  ShowInviteRole: { GetItem: [P.apiKey], Query: [P.invite] },
  RevokeInviteRole: { GetItem: [P.apiKey, P.invite], UpdateItem: [P.invite, P.jid] },
  RedeemInviteRole: {
    GetItem: [P.invite, P.jid],
    PutItem: [P.invite, P.jid, P.account],
    DeleteItem: [P.jid],
    UpdateItem: [P.invite, P.jid, P.rate],
  },
  LandingPageRole: { GetItem: [P.invite], UpdateItem: [P.rate] },
  LandingSubmitRole: {
    GetItem: [P.invite, P.jid],
    PutItem: [P.invite, P.jid, P.account],
    DeleteItem: [P.jid],
    UpdateItem: [P.invite, P.jid, P.rate],
  },
  RegisterRole: { PutItem: [P.jid, P.account], DeleteItem: [P.jid], UpdateItem: [P.jid, P.rate] },
  SignupWebhookRole: { GetItem: [P.invite, P.jid, P.signupEvent, P.account], PutItem: [P.invite, P.jid, P.signupEvent] },
  NotifierRole: { GetItem: [P.invite] },
  // The server modules' routes (modules/README.md): each reads its caller's key.
  XmppPreauthRole: { GetItem: [P.apiKey, P.invite], UpdateItem: [P.rate] },
  XmppRegisterRole: {
    GetItem: [P.apiKey, P.invite, P.jid],
    PutItem: [P.invite, P.jid, P.account],
    DeleteItem: [P.jid],
    UpdateItem: [P.invite, P.jid, P.rate],
  },
  XmppSubscribeRole: { GetItem: [P.apiKey, P.invite, P.jid], PutItem: [P.invite, P.jid], UpdateItem: [P.invite, P.rate] },
  XmppInvitesRole: { GetItem: [P.apiKey, P.account], PutItem: [P.invite, P.jid] },
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
    PutItem: [P.notice],
  },
  SuspendAccountRole: {
    GetItem: [P.apiKey, P.account, P.jid, P.invite],
    BatchGetItem: [P.invite],
    UpdateItem: [P.invite, P.jid, P.account],
    PutItem: [P.account, P.notice],
  },
  UnsuspendAccountRole: { GetItem: [P.apiKey, P.account, P.jid, P.invite], UpdateItem: [P.account], PutItem: [P.account, P.notice] },
};
/** Which secrets (paths below secretsPath) each role may read. */
const EXPECTED_SECRETS: Record<string, string[]> = {
  RedeemInviteRole: [SecretPaths.xmpp, SecretPaths.claims],
  LandingSubmitRole: [SecretPaths.xmpp, SecretPaths.claims],
  RegisterRole: [SecretPaths.xmpp],
  XmppRegisterRole: [SecretPaths.xmpp, SecretPaths.claims],
  SignupWebhookRole: [SecretPaths.signup],
  NotifierRole: [SecretPaths.webhooksOut],
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
    const table = Object.values(template.Resources).find((r) => r.Type === 'AWS::DynamoDB::Table')!;
    const indexes = table.Properties.GlobalSecondaryIndexes.map((i: any) => [i.IndexName, i.KeySchema.map((k: any) => k.AttributeName)]);
    const { byInviter, byDomain, bySource } = TableSchema;
    expect(indexes).toEqual([byInviter, byDomain, bySource].map((i) => [i.name, [i.pk, i.sk]]));
    expect(table.Properties.KeySchema.map((k: any) => k.AttributeName)).toEqual([TableSchema.partitionKey, TableSchema.sortKey]);
  });
});
