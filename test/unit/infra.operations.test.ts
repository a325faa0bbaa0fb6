/**
 * infra/operations.cjs in-process, on a small template shaped like osls's,
 * for what the packaged variants (infra.test.ts) do not show: the settings it
 * refuses, VPC_ENDPOINTS=false and a queue-sending function in the VPC.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE, MetricName } from '../../functions/wiring/observability.js';

const require = createRequire(import.meta.url);
const Operations = require('../../infra/operations.cjs') as (new (
  sls: unknown
) => {
  hooks: Record<string, () => void>;
}) & { METRIC: Record<string, string>; NAMESPACE: string };

type Resources = Record<string, { Type: string; Properties: any }>;

/** A service with one HTTP function, one that talks XMPP and the notifier, as osls compiles them. */
const packaged = (operations: Record<string, unknown>, baseUrl = '') => {
  const fn = (role: string) => ({
    Type: 'AWS::Lambda::Function',
    Properties: { Role: { 'Fn::GetAtt': [role, 'Arn'] }, Environment: { Variables: { INVITES_BASE_URL: baseUrl } } },
  });
  const role = () => ({ Type: 'AWS::IAM::Role', Properties: { Policies: [] } });
  const template = {
    Resources: {
      CheckInviteLambdaFunction: fn('CheckInviteRole'),
      RedeemInviteLambdaFunction: fn('RedeemInviteRole'),
      NotifierLambdaFunction: fn('NotifierRole'),
      CheckInviteRole: role(),
      RedeemInviteRole: role(),
      NotifierRole: role(),
      HttpApi: { Type: 'AWS::ApiGatewayV2::Api', Properties: {} },
      WebhookDeadLetterQueue: { Type: 'AWS::SQS::Queue', Properties: {} },
    } as Resources,
  };
  const serverless = {
    classes: { Error },
    service: {
      service: 'xmpp-invites',
      custom: { operations },
      provider: { compiledCloudFormationTemplate: template },
      functions: {
        checkInvite: { events: [{ httpApi: {} }] },
        redeemInvite: { events: [{ httpApi: {} }] },
        notifier: { events: [{ stream: {} }] },
      },
    },
    getProvider: () => ({
      getStage: () => 'prod',
      naming: { getLambdaLogicalId: (name: string) => `${name[0]!.toUpperCase()}${name.slice(1)}LambdaFunction` },
    }),
  };
  const run = () => {
    for (const hook of Object.values(new Operations(serverless).hooks)) hook();
    return template.Resources;
  };
  return { run };
};
const vpc = {
  subnetIds: 'subnet-1,subnet-2',
  securityGroupIds: 'sg-1',
  functions: 'redeemInvite',
  endpoints: 'true',
  id: 'vpc-1',
  routeTableIds: 'rtb-1',
};

describe('infra/operations.cjs', () => {
  it('refuses a domain without its certificate, and a certificate without a domain', () => {
    expect(() => packaged({ domain: 'invites.example.com', certificateArn: '' }).run()).toThrow(
      /INVITES_DOMAIN needs INVITES_CERTIFICATE_ARN/
    );
    expect(() => packaged({ domain: '', certificateArn: 'arn:aws:acm:x' }).run()).toThrow(
      /INVITES_CERTIFICATE_ARN is set but INVITES_DOMAIN is not/
    );
  });

  it('refuses half a VPC, an unknown function, and endpoints without the VPC and its route tables', () => {
    expect(() => packaged({ vpc: { ...vpc, securityGroupIds: '' } }).run()).toThrow(
      /VPC_SUBNET_IDS and VPC_SECURITY_GROUP_IDS go together/
    );
    expect(() => packaged({ vpc: { ...vpc, functions: 'redeemInvite,nope' } }).run()).toThrow(/VPC_FUNCTIONS names no such function: nope/);
    expect(() => packaged({ vpc: { ...vpc, routeTableIds: '' } }).run()).toThrow(/need VPC_ID and VPC_ROUTE_TABLE_IDS/);
    expect(() => packaged({ vpc: { ...vpc, id: '' } }).run()).toThrow(/need VPC_ID and VPC_ROUTE_TABLE_IDS/);
  });

  it('with VPC_ENDPOINTS=false (a NAT gateway) puts the functions in the VPC and makes no endpoint', () => {
    const r = packaged({ vpc: { ...vpc, endpoints: 'false', id: '', routeTableIds: '' } }).run();
    expect(r.RedeemInviteLambdaFunction!.Properties.VpcConfig).toEqual({ SubnetIds: ['subnet-1', 'subnet-2'], SecurityGroupIds: ['sg-1'] });
    expect(r.CheckInviteLambdaFunction!.Properties.VpcConfig).toBeUndefined();
    expect(Object.values(r).filter((x) => x.Type === 'AWS::EC2::VPCEndpoint' || x.Type === 'AWS::EC2::SecurityGroup')).toEqual([]);
  });

  it('adds the SQS endpoint when the notifier (which sends dead letters) runs in the VPC', () => {
    const r = packaged({ vpc: { ...vpc, functions: 'redeemInvite,notifier' } }).run();
    const services = Object.values(r)
      .filter((x) => x.Type === 'AWS::EC2::VPCEndpoint')
      .map((x) => x.Properties.ServiceName['Fn::Sub']);
    expect(services.sort()).toEqual([
      'com.amazonaws.${AWS::Region}.dynamodb',
      'com.amazonaws.${AWS::Region}.sqs',
      'com.amazonaws.${AWS::Region}.ssm',
    ]);
    expect(r.NotifierRole!.Properties.ManagedPolicyArns).toHaveLength(1);
    expect(r.CheckInviteRole!.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('writes the dashboard body in the CloudWatch format: each metric an array, an expression alone in its own', () => {
    const r = packaged({}).run();
    const body = JSON.parse(r.OperationsDashboard!.Properties.DashboardBody['Fn::Sub']);
    expect(body.widgets.length).toBeGreaterThanOrEqual(6);
    for (const w of body.widgets) {
      expect(w.properties.region).toBe('${AWS::Region}');
      for (const m of w.properties.metrics) {
        expect(Array.isArray(m), JSON.stringify(m)).toBe(true);
        if (typeof m[0] === 'object') {
          expect(m).toHaveLength(1);
          expect(m[0].expression).toMatch(/^SEARCH\('\{xmpp-invites,[a-z,]+,service\} MetricName="\w+"', 'Sum', 300\)$/);
          expect(m[0].id).toMatch(/^[a-z]\w*$/);
        } else {
          expect(m.slice(0, 4)).toEqual(['xmpp-invites', expect.any(String), 'service', 'xmpp-invites']);
        }
      }
    }
  });

  it('reads the metric names from the one file the functions emit them from (functions/wiring/metrics.json)', () => {
    const shared = require('../../functions/wiring/metrics.json') as { namespace: string; names: Record<string, string> };
    // The very object: no copy of the list in the template's code to fall out of step.
    expect(Operations.METRIC).toBe(shared.names);
    expect(Operations.NAMESPACE).toBe(shared.namespace);
    expect(MetricName).toEqual(shared.names);
    expect(METRICS_NAMESPACE).toBe(shared.namespace);
    const source = require('node:fs').readFileSync(new URL('../../infra/operations.cjs', import.meta.url), 'utf8') as string;
    for (const name of Object.values(shared.names)) expect(source, name).not.toContain(`'${name}'`);
  });

  it('keeps an INVITES_BASE_URL the operator set, over the domain', () => {
    const derived = packaged({ domain: 'invites.example.com', certificateArn: 'arn:aws:acm:x' }).run();
    expect(derived.CheckInviteLambdaFunction!.Properties.Environment.Variables.INVITES_BASE_URL).toBe('https://invites.example.com');
    const own = packaged({ domain: 'invites.example.com', certificateArn: 'arn:aws:acm:x' }, 'https://join.example.com').run();
    expect(own.CheckInviteLambdaFunction!.Properties.Environment.Variables.INVITES_BASE_URL).toBe('https://join.example.com');
  });
});
