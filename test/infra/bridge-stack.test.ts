import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyEnvironment, parseBridgeConfig } from '../../bridge/config.js';
import { acknowledgements, literalStrings, nagFindings, type SynthesizedApp, synthApp } from './support.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:etcd/bridge-AbC123';
const VPC_ID = 'vpc-0123456789abcdef0';

/** What `cdk synth` caches in cdk.context.json after looking the VPC up (so the test needs no AWS calls). */
const VPC_LOOKUP = {
  [`vpc-provider:account=123456789012:filter.vpc-id=${VPC_ID}:region=eu-west-1:returnAsymmetricSubnets=true`]:
    {
      vpcId: VPC_ID,
      vpcCidrBlock: '10.20.0.0/16',
      ownerAccountId: '123456789012',
      availabilityZones: [],
      subnetGroups: [
        {
          name: 'private',
          type: 'Private',
          subnets: ['a', 'b'].map((az, i) => ({
            subnetId: `subnet-0${az.repeat(16)}`,
            cidr: `10.20.${i * 16}.0/20`,
            availabilityZone: `eu-west-1${az}`,
            routeTableId: `rtb-0${az.repeat(16)}`,
          })),
        },
      ],
    },
};

let synth: SynthesizedApp;
beforeAll(() => {
  synth = synthApp({}, { bundle: false });
});

const template = () => synth.template(synth.bridge);
const id = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

/** A weak cross-stack reference to an output of the pipeline stack. */
const pipelineOutput = (outputName: unknown) => ({
  'Fn::GetStackOutput': {
    StackName: 'EtcdBridgePipeline',
    Region: { Ref: 'AWS::Region' },
    OutputName: outputName,
  },
});

function policyStatements(policy: { node: { defaultChild?: unknown } }): Record<string, unknown>[] {
  return template().toJSON().Resources[id(synth.bridge, policy)].Properties.PolicyDocument.Statement;
}

/** The bridge's configuration as the synthesized container's literal environment makes it. */
function bridgeConfigOf(app: SynthesizedApp) {
  const task = Object.values(app.template(app.bridge).findResources('AWS::ECS::TaskDefinition'))[0] as {
    Properties: { ContainerDefinitions: Array<{ Environment: Array<{ Name: string; Value: unknown }> }> };
  };
  const env = Object.fromEntries(
    task.Properties.ContainerDefinitions[0]!.Environment.filter((e) => typeof e.Value === 'string').map(
      (e) => [e.Name, e.Value as string],
    ),
  );
  return parseBridgeConfig(applyEnvironment({}, env));
}

describe('BridgeStack', () => {
  it('runs two Fargate tasks of the bridge in private subnets of a created VPC with flow logs', () => {
    const t = template();
    t.resourceCountIs('AWS::ECS::Cluster', 1);
    t.resourceCountIs('AWS::ECS::Service', 1);
    t.resourceCountIs('AWS::ECS::TaskDefinition', 1);
    t.resourceCountIs('AWS::EC2::VPC', 1);
    t.resourceCountIs('AWS::EC2::NatGateway', 1);
    t.resourceCountIs('AWS::EC2::FlowLog', 1);
    t.resourceCountIs('AWS::SecretsManager::Secret', 1);
    t.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
    t.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      DesiredCount: 2,
      EnableExecuteCommand: false,
      DeploymentConfiguration: {
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      },
      NetworkConfiguration: {
        AwsvpcConfiguration: {
          AssignPublicIp: 'DISABLED',
          Subnets: [
            { Ref: Match.stringLikeRegexp('^VpcprivateSubnet1') },
            { Ref: Match.stringLikeRegexp('^VpcprivateSubnet2') },
          ],
        },
      },
    });
    t.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL' });
  });

  it('allows no inbound traffic and only HTTPS and the etcd port outbound', () => {
    template().hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: [
        Match.objectLike({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }),
        Match.objectLike({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 2379, ToPort: 2379 }),
      ],
      SecurityGroupIngress: Match.absent(),
    });
    template().resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  it('configures the container: ARM64 image asset, environment, secrets, health check, CloudWatch logs', () => {
    const s = synth.pipeline.stages;
    template().hasResourceProperties('AWS::ECS::TaskDefinition', {
      RequiresCompatibilities: ['FARGATE'],
      Cpu: '256',
      Memory: '512',
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'bridge',
          Essential: true,
          Environment: [
            {
              Name: 'ETCD_ENDPOINTS',
              Value:
                'https://etcd-0.etcd.internal:2379,https://etcd-1.etcd.internal:2379,https://etcd-2.etcd.internal:2379',
            },
            { Name: 'BRIDGE_GROUP', Value: 'etcd-bridge' },
            {
              Name: 'HEAT_STACKS_FUNCTION_NAME',
              Value: pipelineOutput(
                Match.stringLikeRegexp(`^PublishOutputRef${id(synth.pipeline, s['heat-stacks'].function)}`),
              ),
            },
            {
              Name: 'JOB_STATE_FUNCTION_NAME',
              Value: pipelineOutput(
                Match.stringLikeRegexp(`^PublishOutputRef${id(synth.pipeline, s['job-state'].function)}`),
              ),
            },
            {
              Name: 'HEAT_STACKS_DLQ_URL',
              Value: pipelineOutput(
                Match.stringLikeRegexp(
                  `^PublishOutputRef${id(synth.pipeline, s['heat-stacks'].deadLetterQueue)}`,
                ),
              ),
            },
            {
              Name: 'JOB_STATE_DLQ_URL',
              Value: pipelineOutput(
                Match.stringLikeRegexp(
                  `^PublishOutputRef${id(synth.pipeline, s['job-state'].deadLetterQueue)}`,
                ),
              ),
            },
            { Name: 'AWS_REGION', Value: { Ref: 'AWS::Region' } },
            // The functions' 30 s and 10 s more are under the bridge's own 60 s default.
            { Name: 'INVOKE_TIMEOUT_MS', Value: '60000' },
          ],
          Secrets: [
            'ETCD_USERNAME:username',
            'ETCD_PASSWORD:password',
            'ETCD_CA_PEM:caPem',
            'ETCD_CERT_PEM:certPem',
            'ETCD_KEY_PEM:keyPem',
          ].map((pair) => {
            const [name, field] = pair.split(':');
            return {
              Name: name,
              ValueFrom: {
                'Fn::Join': [
                  '',
                  [{ Ref: id(synth.bridge, synth.bridge.etcdSecret as never) }, `:${field}::`],
                ],
              },
            };
          }),
          HealthCheck: Match.objectLike({
            Command: ['CMD', 'node', '-e', Match.stringLikeRegexp('127\\.0\\.0\\.1:9464/healthz')],
          }),
          PortMappings: [Match.objectLike({ ContainerPort: 9464 })],
          LogConfiguration: {
            LogDriver: 'awslogs',
            Options: Match.objectLike({ 'awslogs-group': { Ref: id(synth.bridge, synth.bridge.logGroup) } }),
          },
        }),
      ],
    });
    template().hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('task role: lambda:InvokeFunction on the two functions and sqs:SendMessage and sqs:GetQueueAttributes (preflight) on the two DLQs, no wildcards', () => {
    const statements = policyStatements(synth.bridge.taskDefinition.taskRole.node.findChild('DefaultPolicy'));
    const out = (construct: { node: { defaultChild?: unknown } }) =>
      pipelineOutput(Match.stringLikeRegexp(`^PublishOutputFnGetAtt${id(synth.pipeline, construct)}Arn`));
    const s = synth.pipeline.stages;
    expect(statements).toHaveLength(2);
    synth.template(synth.bridge).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Sid: 'InvokeStageFunctions',
            Effect: 'Allow',
            Action: 'lambda:InvokeFunction',
            Resource: [out(s['heat-stacks'].function), out(s['job-state'].function)],
          },
          {
            Sid: 'SendToDeadLetterQueues',
            Effect: 'Allow',
            Action: ['sqs:GetQueueAttributes', 'sqs:SendMessage'],
            Resource: [out(s['heat-stacks'].deadLetterQueue), out(s['job-state'].deadLetterQueue)],
          },
        ],
      },
    });
    for (const statement of statements) {
      expect(literalStrings(statement.Action).some((a) => a.includes('*'))).toBe(false);
      expect(literalStrings(statement.Resource).some((r) => r.includes('*'))).toBe(false);
    }
  });

  it('execution role: only GetAuthorizationToken is unscoped', () => {
    const role = synth.bridge.taskDefinition.executionRole;
    expect(role).toBeDefined();
    const statements = policyStatements(role!.node.findChild('DefaultPolicy'));
    const wildcard = statements.filter((s) => literalStrings(s.Resource).includes('*'));
    expect(wildcard).toEqual([{ Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' }]);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
        Resource: { Ref: id(synth.bridge, synth.bridge.etcdSecret as never) },
      }),
    );
  });

  it('stages the Docker build context at synth without building it (no Docker needed)', () => {
    const manifest = JSON.parse(
      readFileSync(join(synth.assembly.directory, `${synth.bridge.artifactId}.assets.json`), 'utf8'),
    ) as {
      dockerImages: Record<string, { source: { directory: string; dockerFile: string; platform: string } }>;
    };
    const images = Object.values(manifest.dockerImages);
    expect(images).toHaveLength(1);
    const { source } = images[0]!;
    expect(source).toMatchObject({ dockerFile: 'Dockerfile', platform: 'linux/arm64' });
    const context = join(synth.assembly.directory, source.directory);
    expect(existsSync(join(context, 'Dockerfile'))).toBe(true);
    // .dockerignore is honoured: only what the image needs.
    const entries = readdirSync(context);
    expect(entries).toEqual(
      expect.arrayContaining(['Dockerfile', 'package.json', 'package-lock.json', 'bin', 'shared']),
    );
    for (const excluded of ['node_modules', 'infra', 'test', 'cdk.out', '.git', 'dist']) {
      expect(entries).not.toContain(excluded);
    }
  });

  it('Dockerfile: multi-stage, npm ci, dev deps pruned, non-root, HEALTHCHECK on /healthz, the bridge command', () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    const instructions = dockerfile
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    const from = instructions.filter((line) => line.startsWith('FROM '));
    expect(from).toHaveLength(2);
    for (const line of from) expect(line).toMatch(/\$\{NODE_IMAGE\}/);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:(24|22)-slim$/m);
    expect(instructions).toContainEqual(expect.stringMatching(/^RUN npm ci\b/));
    expect(instructions).toContainEqual(expect.stringMatching(/npm prune --omit=dev/));
    const runtime = instructions.slice(instructions.indexOf(from[1]!));
    expect(runtime.filter((line) => line.startsWith('RUN '))).toEqual([]);
    expect(runtime).toContain('USER node');
    expect(runtime).toContainEqual(expect.stringMatching(/^HEALTHCHECK .*127\.0\.0\.1:9464\/healthz/));
    // Node flags (the bridge's heap settings, checked against bin/v8-flags.js by its own test) may
    // stand between `node` and the entry point.
    expect(runtime).toContainEqual(
      expect.stringMatching(/^ENTRYPOINT \["node", (?:"--[a-z-]+=\d+", )*"bin\/etcd-bridge\.js"\]$/),
    );
    expect(runtime).toContain('CMD ["start", "--config", "/app/config/routes.json", "--invoke", "lambda"]');
  });

  it("gives the bridge an invoke timeout above a long function's own, which the bridge then uses", () => {
    const variant = synthApp({ 'etcdBridge:functionTimeoutSeconds': '900' }, { bundle: false });
    expect(bridgeConfigOf(variant).invoke.timeoutMs).toBe(910_000);
    variant.template(variant.pipeline).hasResourceProperties('AWS::Lambda::Function', { Timeout: 900 });
  });

  it('keeps the bridge within a reserved concurrency under its own default, which the bridge then uses', () => {
    expect(bridgeConfigOf(synth).routes.map((r) => r.concurrency)).toEqual([8, 8]);
    const variant = synthApp(
      { 'etcdBridge:heatStacksReservedConcurrency': '3', 'etcdBridge:jobStateReservedConcurrency': '20' },
      { bundle: false },
    );
    // heat-stacks: at most 3 invocations at once; job-state's 20 leave room for the default 8.
    expect(bridgeConfigOf(variant).routes.map((r) => [r.name, r.concurrency])).toEqual([
      ['heat-stacks', 3],
      ['job-state', 8],
    ]);
    variant
      .template(variant.pipeline)
      .hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 3 });
  });

  it('uses an existing secret, a looked-up VPC and x86 when context says so', () => {
    const variant = synthApp(
      {
        'etcdBridge:etcdSecretArn': SECRET_ARN,
        ...VPC_LOOKUP,
        'etcdBridge:vpcId': VPC_ID,
        'etcdBridge:account': '123456789012',
        'etcdBridge:region': 'eu-west-1',
        'etcdBridge:architecture': 'X86_64',
        'etcdBridge:etcdEndpoints': 'https://etcd.internal:443,https://etcd-b.internal:12379',
        'etcdBridge:etcdPeerCidr': '10.20.0.0/16',
        'etcdBridge:desiredCount': '3',
      },
      { bundle: false },
    );
    const t = variant.template(variant.bridge);
    expect(variant.bridge.account).toBe('123456789012');
    expect(variant.bridge.region).toBe('eu-west-1');
    t.resourceCountIs('AWS::SecretsManager::Secret', 0);
    t.resourceCountIs('AWS::EC2::VPC', 0);
    t.hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: VPC_ID });
    t.hasResourceProperties('AWS::ECS::Service', {
      NetworkConfiguration: {
        AwsvpcConfiguration: { Subnets: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'] },
      },
    });
    t.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 3 });
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RuntimePlatform: { CpuArchitecture: 'X86_64' },
      ContainerDefinitions: [
        Match.objectLike({
          Secrets: Match.arrayWith([{ Name: 'ETCD_PASSWORD', ValueFrom: `${SECRET_ARN}:password::` }]),
        }),
      ],
    });
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: [
        Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 }),
        Match.objectLike({ CidrIp: '10.20.0.0/16', FromPort: 12379, ToPort: 12379 }),
      ],
    });
    expect(nagFindings(variant.bridge)).toEqual([]);
  });

  it('has no unacknowledged cdk-nag AwsSolutions errors or warnings', () => {
    expect(nagFindings(synth.bridge)).toEqual([]);
  });

  it('acknowledges ECS2, IAM5 (ECR token) and SMG4, each with its reason', () => {
    const acks = acknowledgements(synth.bridge);
    expect(acks.map((a) => [a.path, a.id])).toEqual([
      ['EtcdBridgeService/EtcdSecret', 'AwsSolutions-SMG4'],
      ['EtcdBridgeService/TaskDefinition', 'AwsSolutions-ECS2'],
      ['EtcdBridgeService/TaskDefinition/ExecutionRole', 'AwsSolutions-IAM5[Resource::*]'],
    ]);
    const reasons = Object.fromEntries(acks.map((a) => [a.id, a.reason]));
    expect(reasons['AwsSolutions-SMG4']).toMatch(/rotat/i);
    expect(reasons['AwsSolutions-ECS2']).toMatch(/Secrets Manager/);
    expect(reasons['AwsSolutions-IAM5[Resource::*]']).toMatch(/ecr:GetAuthorizationToken/);
  });
});
