'use strict';
/**
 * What the template needs to run in production, added when it is packaged
 * (`npm run package`, `npm run deploy`), from `custom.operations` in
 * serverless.yml (which reads the environment; docs/deploy.md):
 *
 * - Own domain (INVITES_DOMAIN + INVITES_CERTIFICATE_ARN): an API Gateway
 *   custom domain and its mapping to the HTTP API. INVITES_BASE_URL, left
 *   empty, becomes https://INVITES_DOMAIN, or the API's own execute-api URL.
 * - VPC (VPC_SUBNET_IDS + VPC_SECURITY_GROUP_IDS): the functions that talk to
 *   the XMPP server run in those subnets (their security groups are then the
 *   fixed source the server allows), with the ENI permissions, and unless
 *   VPC_ENDPOINTS=false (a NAT gateway instead) the endpoints they need:
 *   DynamoDB (gateway, on VPC_ROUTE_TABLE_IDS), SSM, and SQS if a function in
 *   the VPC sends to a queue (interface, in VPC_ID).
 * - Monitoring, always: an SNS topic (ALARM_EMAIL subscribes an address),
 *   alarms (docs/operations.md says what each means and what to do) and a
 *   dashboard of the metrics in functions/wiring/observability.ts.
 *
 * Alarms are made per function from the functions in serverless.yml, so a
 * new function gets its own without an edit here.
 */

/**
 * The metrics' namespace, `service` dimension and names: the one list the functions emit from
 * (functions/wiring/observability.ts imports the same file).
 */
const metrics = require('../functions/wiring/metrics.json');
const NAMESPACE = metrics.namespace;
const SERVICE_DIMENSION = { Name: 'service', Value: metrics.service };
const METRIC = metrics.names;
const REDEEM_PATHS = ['web', 'app', 'api'];
const PERIOD = 300;

const list = (value) =>
  String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const isOff = (value) => ['false', '0', 'no', 'off'].includes(String(value ?? '').toLowerCase());
const upperFirst = (s) => s.charAt(0).toUpperCase() + s.slice(1);

class Operations {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      // After infra/*.yml is merged (the roles and the queue live there), before the template is written.
      'after:aws:package:finalize:mergeCustomProviderResources': () => this.addResources(),
    };
  }

  fail(message) {
    throw new this.serverless.classes.Error(`custom.operations: ${message}`);
  }

  addResources() {
    const service = this.serverless.service;
    const template = service.provider.compiledCloudFormationTemplate;
    const settings = service.custom?.operations ?? {};
    const naming = this.serverless.getProvider('aws').naming;
    const functions = Object.entries(service.functions ?? {}).map(([name, fn]) => ({
      name,
      logicalId: naming.getLambdaLogicalId(name),
      http: (fn.events ?? []).some((e) => e.httpApi),
    }));
    const prefix = `${service.service}-${this.serverless.getProvider('aws').getStage()}`;
    this.domain(template, settings, functions);
    this.vpc(template, settings.vpc ?? {}, functions);
    this.monitoring(template, settings, functions, prefix);
  }

  domain(template, settings, functions) {
    const domain = String(settings.domain ?? '').trim();
    const certificateArn = String(settings.certificateArn ?? '').trim();
    if (domain && !certificateArn)
      this.fail('INVITES_DOMAIN needs INVITES_CERTIFICATE_ARN (an ACM certificate for it, in the stack region)');
    if (certificateArn && !domain) this.fail('INVITES_CERTIFICATE_ARN is set but INVITES_DOMAIN is not');
    if (domain) {
      template.Resources.ApiDomainName = {
        Type: 'AWS::ApiGatewayV2::DomainName',
        Properties: {
          DomainName: domain,
          DomainNameConfigurations: [{ CertificateArn: certificateArn, EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' }],
        },
      };
      template.Resources.ApiDomainMapping = {
        Type: 'AWS::ApiGatewayV2::ApiMapping',
        Properties: { ApiId: { Ref: 'HttpApi' }, DomainName: { Ref: 'ApiDomainName' }, Stage: { Ref: 'HttpApiStage' } },
      };
      template.Outputs ??= {};
      // The DNS record: INVITES_DOMAIN CNAME (or alias A/AAAA in this hosted zone) to this name.
      template.Outputs.ApiDomainTarget = {
        Description: `Point ${domain} here (CNAME, or a Route 53 alias with ApiDomainHostedZoneId)`,
        Value: { 'Fn::GetAtt': ['ApiDomainName', 'RegionalDomainName'] },
      };
      template.Outputs.ApiDomainHostedZoneId = { Value: { 'Fn::GetAtt': ['ApiDomainName', 'RegionalHostedZoneId'] } };
    }
    // Links in invites and pages: the operator's own value, else the domain, else the API's own URL.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string
    const baseUrl = domain ? `https://${domain}` : { 'Fn::Sub': 'https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}' };
    for (const f of functions) {
      const vars = template.Resources[f.logicalId]?.Properties?.Environment?.Variables;
      if (vars && (vars.INVITES_BASE_URL === '' || vars.INVITES_BASE_URL === undefined)) vars.INVITES_BASE_URL = baseUrl;
    }
  }

  vpc(template, settings, functions) {
    const subnetIds = list(settings.subnetIds);
    const securityGroupIds = list(settings.securityGroupIds);
    if (subnetIds.length === 0 && securityGroupIds.length === 0) return;
    if (subnetIds.length === 0 || securityGroupIds.length === 0) {
      this.fail('VPC_SUBNET_IDS and VPC_SECURITY_GROUP_IDS go together (comma-separated ids)');
    }
    const names = list(settings.functions);
    const known = new Map(functions.map((f) => [f.name, f]));
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length > 0) this.fail(`VPC_FUNCTIONS names no such function: ${unknown.join(', ')}`);
    for (const name of names) {
      const fn = template.Resources[known.get(name).logicalId];
      fn.Properties.VpcConfig = { SubnetIds: subnetIds, SecurityGroupIds: securityGroupIds };
      // Lambda makes the function's network interfaces with its role.
      const roleId = fn.Properties.Role?.['Fn::GetAtt']?.[0];
      const role = template.Resources[roleId];
      if (!role) this.fail(`${name}: its role ${roleId} is not in the template`);
      role.Properties.ManagedPolicyArns = [
        ...(role.Properties.ManagedPolicyArns ?? []),
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string
        { 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole' },
      ];
    }
    if (isOff(settings.endpoints)) return;
    const vpcId = String(settings.id ?? '').trim();
    const routeTableIds = list(settings.routeTableIds);
    if (!vpcId || routeTableIds.length === 0) {
      this.fail('the VPC endpoints need VPC_ID and VPC_ROUTE_TABLE_IDS (or VPC_ENDPOINTS=false with a NAT gateway)');
    }
    template.Resources.VpcEndpointSecurityGroup = {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: 'HTTPS from the invite functions to the AWS interface endpoints',
        VpcId: vpcId,
        SecurityGroupIngress: securityGroupIds.map((id) => ({
          IpProtocol: 'tcp',
          FromPort: 443,
          ToPort: 443,
          SourceSecurityGroupId: id,
          Description: 'the invite functions',
        })),
      },
    };
    template.Resources.DynamoDbVpcEndpoint = {
      Type: 'AWS::EC2::VPCEndpoint',
      Properties: {
        VpcEndpointType: 'Gateway',
        VpcId: vpcId,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string
        ServiceName: { 'Fn::Sub': 'com.amazonaws.${AWS::Region}.dynamodb' },
        RouteTableIds: routeTableIds,
      },
    };
    const interfaces = ['ssm'];
    // Only the notifier sends to a queue (its dead letters); it stays outside by default.
    if (names.includes('notifier')) interfaces.push('sqs');
    for (const svc of interfaces) {
      template.Resources[`${upperFirst(svc)}VpcEndpoint`] = {
        Type: 'AWS::EC2::VPCEndpoint',
        Properties: {
          VpcEndpointType: 'Interface',
          VpcId: vpcId,
          ServiceName: { 'Fn::Sub': `com.amazonaws.\${AWS::Region}.${svc}` },
          SubnetIds: subnetIds,
          SecurityGroupIds: [{ Ref: 'VpcEndpointSecurityGroup' }],
          PrivateDnsEnabled: true,
        },
      };
    }
  }

  monitoring(template, settings, functions, prefix) {
    const R = template.Resources;
    R.AlarmTopic = { Type: 'AWS::SNS::Topic', Properties: { DisplayName: `${prefix} alarms` } };
    const email = String(settings.alarmEmail ?? '').trim();
    if (email) {
      R.AlarmEmailSubscription = {
        Type: 'AWS::SNS::Subscription',
        Properties: { Protocol: 'email', Endpoint: email, TopicArn: { Ref: 'AlarmTopic' } },
      };
    }
    template.Outputs ??= {};
    template.Outputs.AlarmTopicArn = { Description: 'Subscribe to the alarms here', Value: { Ref: 'AlarmTopic' } };
    const actions = { AlarmActions: [{ Ref: 'AlarmTopic' }], OKActions: [{ Ref: 'AlarmTopic' }] };
    // `kind`: the alarm's entry in docs/operations.md.
    const alarm = (id, name, description, props, kind = name) => {
      R[id] = {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmName: `${prefix}-${name}`,
          AlarmDescription: `${description} What to do: docs/operations.md, alarm "${kind}".`,
          ...actions,
          EvaluationPeriods: 1,
          DatapointsToAlarm: 1,
          TreatMissingData: 'notBreaching',
          ...props,
        },
      };
    };
    const lambdaMetric = (id, metric, fnId) => ({
      Id: id,
      ReturnData: false,
      MetricStat: {
        Metric: { Namespace: 'AWS/Lambda', MetricName: metric, Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }] },
        Period: PERIOD,
        Stat: 'Sum',
      },
    });
    const own = (metric, extra = []) => ({ Namespace: NAMESPACE, MetricName: metric, Dimensions: [SERVICE_DIMENSION, ...extra] });

    for (const f of functions) {
      const Id = upperFirst(f.name);
      if (f.http) {
        // Answers 5xx (functions/http/route.ts counts them) plus invocations that failed outright, per 100 invocations.
        alarm(
          `${Id}ServerErrorRateAlarm`,
          `${f.name}-5xx-rate`,
          `More than 5% of ${f.name}'s requests failed (5xx or a crash/timeout) in 5 minutes.`,
          {
            ComparisonOperator: 'GreaterThanThreshold',
            Threshold: 5,
            Metrics: [
              {
                Id: 'answered5xx',
                ReturnData: false,
                MetricStat: {
                  Metric: own(METRIC.serverErrors, [{ Name: 'function', Value: { Ref: f.logicalId } }]),
                  Period: PERIOD,
                  Stat: 'Sum',
                },
              },
              lambdaMetric('errors', 'Errors', f.logicalId),
              lambdaMetric('invocations', 'Invocations', f.logicalId),
              {
                Id: 'rate',
                Label: '5xx per 100 requests',
                ReturnData: true,
                Expression: 'IF(invocations > 0, 100 * (FILL(answered5xx, 0) + FILL(errors, 0)) / invocations, 0)',
              },
            ],
          },
          '5xx-rate'
        );
      } else {
        alarm(
          `${Id}ErrorsAlarm`,
          `${f.name}-errors`,
          `${f.name} failed (an error, crash or timeout) in the last 5 minutes.`,
          {
            ComparisonOperator: 'GreaterThanOrEqualToThreshold',
            Threshold: 1,
            Namespace: 'AWS/Lambda',
            MetricName: 'Errors',
            Dimensions: [{ Name: 'FunctionName', Value: { Ref: f.logicalId } }],
            Statistic: 'Sum',
            Period: PERIOD,
          },
          'errors'
        );
      }
      alarm(
        `${Id}ThrottlesAlarm`,
        `${f.name}-throttles`,
        `Lambda refused to run ${f.name} (concurrency limit) in the last 5 minutes.`,
        {
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          Threshold: 1,
          Namespace: 'AWS/Lambda',
          MetricName: 'Throttles',
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: f.logicalId } }],
          Statistic: 'Sum',
          Period: PERIOD,
        },
        'throttles'
      );
    }
    if (R.WebhookDeadLetterQueue) {
      alarm(
        'WebhookDeadLettersAlarm',
        'webhook-dead-letters',
        'An outbound webhook event could not be delivered and waits in the dead-letter queue.',
        {
          ComparisonOperator: 'GreaterThanThreshold',
          Threshold: 0,
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['WebhookDeadLetterQueue', 'QueueName'] } }],
          Statistic: 'Maximum',
          Period: PERIOD,
        }
      );
    }
    const ownAlarm = (id, name, description, metric, extra = []) =>
      alarm(id, name, description, {
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        ...own(metric, extra),
        Statistic: 'Sum',
        Period: PERIOD,
      });
    ownAlarm(
      'RedeemXmppUnavailableAlarm',
      'redeem-xmpp-unavailable',
      'A redeem could not make its account: the XMPP server was unreachable or refused the provisioning login.',
      METRIC.redeemRefused,
      [{ Name: 'reason', Value: 'xmpp-unavailable' }]
    );
    ownAlarm(
      'XmppLoginFailedAlarm',
      'xmpp-login-failed',
      'The XMPP server refused the provisioning account: its password is wrong or was rotated on one side only.',
      METRIC.xmppLoginFailed
    );
    ownAlarm(
      'RegistrationBrakeAlarm',
      'registration-brake',
      'The registration brake tripped: registrations are paused.',
      METRIC.registrationBrakeTripped
    );
    // An HTTP API-level view: requests API Gateway itself answered 5xx (a function it could not invoke).
    if (R.HttpApi) {
      alarm(
        'ApiServerErrorsAlarm',
        'api-5xx',
        'API Gateway answered 5xx (a function could not be invoked or timed out) in the last 5 minutes.',
        {
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          Threshold: 5,
          Namespace: 'AWS/ApiGateway',
          MetricName: '5xx',
          Dimensions: [
            { Name: 'ApiId', Value: { Ref: 'HttpApi' } },
            { Name: 'Stage', Value: '$default' },
          ],
          Statistic: 'Sum',
          Period: PERIOD,
        }
      );
    }
    R.OperationsDashboard = {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: {
        DashboardName: prefix,
        DashboardBody: { 'Fn::Sub': JSON.stringify(this.dashboard()) },
      },
    };
  }

  /** Widgets from the functions' metrics (functions/wiring/observability.ts). */
  dashboard() {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string
    const region = '${AWS::Region}';
    // One line per value of the dimension; an expression is a metrics entry of its own: [{ expression, id }].
    const search = (metric, dimension, stat = 'Sum') => [
      [
        {
          expression: `SEARCH('{${NAMESPACE},${dimension},service} MetricName="${metric}"', '${stat}', ${PERIOD})`,
          id: `s${metric.toLowerCase()}`,
        },
      ],
    ];
    const widget = (title, metrics, x, y, extra = {}) => ({
      type: 'metric',
      x,
      y,
      width: 12,
      height: 6,
      properties: { title, region, view: 'timeSeries', stacked: false, period: PERIOD, metrics, ...extra },
    });
    const percentiles = (metric, dims) =>
      dims.flatMap((d) =>
        ['p50', 'p99'].map((stat) => [
          NAMESPACE,
          metric,
          'service',
          metrics.service,
          ...(d ? ['path', d] : []),
          { stat, label: `${d ? `${d} ` : ''}${stat}` },
        ])
      );
    return {
      widgets: [
        widget('Invites issued, by way (api, app, signup)', search(METRIC.invitesIssued, 'via'), 0, 0),
        widget('Invites redeemed, by path (web, app, api)', search(METRIC.invitesRedeemed, 'path'), 12, 0),
        widget('Redeems refused, by reason', search(METRIC.redeemRefused, 'reason'), 0, 6),
        widget('Failed token lookups, by route and reason', search(METRIC.failedTokenLookup, 'reason,route'), 12, 6),
        widget('Redeem duration (ms), p50 and p99 by path', percentiles(METRIC.redeemDuration, REDEEM_PATHS), 0, 12),
        widget('In-app registration duration (ms), p50 and p99', percentiles(METRIC.inAppRegistrationDuration, [undefined]), 12, 12),
        widget(
          'XMPP login failures and registration brake',
          [
            [NAMESPACE, METRIC.xmppLoginFailed, 'service', metrics.service, { stat: 'Sum', label: 'XMPP login failures' }],
            [NAMESPACE, METRIC.registrationBrakeTripped, 'service', metrics.service, { stat: 'Sum', label: 'brake tripped' }],
          ],
          0,
          18
        ),
        widget('Requests answered 5xx, by function', search(METRIC.serverErrors, 'function'), 12, 18),
      ],
    };
  }
}

module.exports = Operations;
module.exports.METRIC = METRIC;
module.exports.NAMESPACE = NAMESPACE;
