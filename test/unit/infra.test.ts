import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

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
      Object.values(template.Resources).filter((r) => r.Type === 'AWS::IAM::Role').map((r) => r.Properties.Policies)
    );
    expect(policies).not.toMatch(/"(dynamodb|ssm|sqs|logs):\*"/);
    expect(policies).not.toContain('"*"');
    expect(policies).not.toContain('dynamodb:Scan');
    const env = JSON.stringify(
      Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function').map((r) => r.Properties.Environment)
    );
    expect(env).not.toMatch(/PASSWORD"\s*:|SECRET"\s*:/);
  });

  it("keeps the server modules' functions to their key prefixes, with SSM only where XMPP is spoken", () => {
    const statements = (role: string) =>
      (template.Resources[role]!.Properties.Policies as { PolicyDocument: { Statement: any[] } }[]).flatMap(
        (p) => p.PolicyDocument.Statement
      );
    for (const role of ['XmppPreauthRole', 'XmppRegisterRole', 'XmppSubscribeRole', 'XmppInvitesRole']) {
      const table = statements(role).filter((st) => st.Action.some((a: string) => /^dynamodb:(Get|Put|Update|Delete)Item$/.test(a)));
      expect(table.length, role).toBeGreaterThan(0);
      for (const st of table) {
        const keys: string[] = st.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys'];
        expect(keys.every((k) => /^(KEY|INV|JID|RATE)#\*$/.test(k)), role).toBe(true);
      }
      const ssm = statements(role).some((st) => st.Action.includes('ssm:GetParameter'));
      expect(ssm, role).toBe(role === 'XmppRegisterRole');
    }
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
