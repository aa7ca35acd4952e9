import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { DEFAULT_ROUTE_CONCURRENCY } from '../../shared/index.js';
import { type BridgeConfig, STAGE_NAMES, type StageName } from '../config.js';
import type { StageFunction } from '../constructs/stage-function.js';
import { REPO_ROOT } from '../paths.js';

/** The port of the bridge's `/healthz` and `/metrics` endpoints. */
export const BRIDGE_HTTP_PORT = 9464;

/** The keys of the etcd secret's JSON value, mapped to the bridge's environment variables. */
export const ETCD_SECRET_FIELDS = {
  ETCD_USERNAME: 'username',
  ETCD_PASSWORD: 'password',
  ETCD_CA_PEM: 'caPem',
  ETCD_CERT_PEM: 'certPem',
  ETCD_KEY_PEM: 'keyPem',
} as const;

/** The container health check; the image's HEALTHCHECK (Dockerfile) runs the same probe. */
const HEALTH_PROBE = `fetch('http://127.0.0.1:${BRIDGE_HTTP_PORT}/healthz').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))`;

/**
 * The bridge's invoke timeout for functions of this timeout: theirs and 10 s more for the call's
 * network and a cold start's init, at least the bridge's default of 60 s.
 */
export function bridgeInvokeTimeoutMs(functionTimeoutSeconds: number): number {
  return Math.max(60_000, (functionTimeoutSeconds + 10) * 1000);
}

/**
 * `<STAGE>_CONCURRENCY` for each stage with a reserved concurrency under the bridge's default: the bridge then
 * never has more invocations of it in flight than Lambda runs at once (any more would be throttled, retried
 * and counted by the throttle alarm, on every burst).
 */
export function bridgeConcurrencyEnvironment(config: BridgeConfig): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const stage of STAGE_NAMES) {
    const reserved = config.reservedConcurrency[stage];
    if (reserved !== undefined && reserved < DEFAULT_ROUTE_CONCURRENCY)
      environment[`${stage.toUpperCase().replaceAll('-', '_')}_CONCURRENCY`] = String(reserved);
  }
  return environment;
}

export interface BridgeStackProps extends StackProps {
  /** The app's validated configuration. */
  readonly config: BridgeConfig;
  /** The stage functions the bridge invokes, by route name. */
  readonly stages: Readonly<Record<StageName, StageFunction>>;
}

/**
 * The bridge: an ECS Fargate service (two tasks; leader election in etcd keeps one active) that watches etcd
 * and invokes the stage functions. Its image is built from the repository's Dockerfile at deploy time
 * (`cdk synth` only stages the build context).
 */
export class BridgeStack extends Stack {
  public readonly vpc: ec2.IVpc;
  public readonly cluster: ecs.Cluster;
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly service: ecs.FargateService;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly logGroup: logs.LogGroup;
  /** The secret holding etcd credentials and TLS material (created, or imported from context). */
  public readonly etcdSecret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: BridgeStackProps) {
    super(scope, id, props);
    const { config, stages } = props;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const retention = config.logRetentionDays as logs.RetentionDays;
    const arm = config.architecture === 'ARM64';

    this.vpc =
      config.vpcId !== undefined
        ? ec2.Vpc.fromLookup(this, 'Vpc', { vpcId: config.vpcId })
        : this.createVpc(config);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      description: 'etcd bridge tasks: no inbound; outbound HTTPS (AWS APIs, ECR) and the etcd client ports',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'AWS APIs (Lambda, SQS, Secrets Manager, ECR, Logs)',
    );
    for (const port of config.etcdPorts) {
      if (port === 443) continue;
      this.securityGroup.addEgressRule(
        ec2.Peer.ipv4(config.etcdPeerCidr),
        ec2.Port.tcp(port),
        `etcd client port ${port}`,
      );
    }

    this.etcdSecret =
      config.etcdSecretArn !== undefined
        ? secretsmanager.Secret.fromSecretCompleteArn(this, 'EtcdSecret', config.etcdSecretArn)
        : this.createEtcdSecret(removalPolicy);

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention, removalPolicy });

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: config.bridgeCpu,
      memoryLimitMiB: config.bridgeMemoryMiB,
      runtimePlatform: {
        cpuArchitecture: arm ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });

    const heatStacks = stages['heat-stacks'];
    const jobState = stages['job-state'];
    this.container = this.taskDefinition.addContainer('bridge', {
      // Only staged at synth (copied into cdk.out); `docker build` runs when `cdk deploy` publishes assets.
      image: ecs.ContainerImage.fromAsset(REPO_ROOT, {
        file: 'Dockerfile',
        platform: arm ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
      }),
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'bridge', logGroup: this.logGroup }),
      environment: {
        ETCD_ENDPOINTS: config.etcdEndpoints.join(','),
        BRIDGE_GROUP: config.bridgeGroup,
        HEAT_STACKS_FUNCTION_NAME: heatStacks.function.functionName,
        JOB_STATE_FUNCTION_NAME: jobState.function.functionName,
        HEAT_STACKS_DLQ_URL: heatStacks.deadLetterQueue.queueUrl,
        JOB_STATE_DLQ_URL: jobState.deadLetterQueue.queueUrl,
        AWS_REGION: this.region,
        // The bridge waits for a function as long as the function may run, and a little more for the
        // network: giving up sooner would invoke it again while the first one still runs.
        INVOKE_TIMEOUT_MS: String(bridgeInvokeTimeoutMs(config.functionTimeoutSeconds)),
        ...bridgeConcurrencyEnvironment(config),
      },
      secrets: Object.fromEntries(
        Object.entries(ETCD_SECRET_FIELDS).map(([name, field]) => [
          name,
          ecs.Secret.fromSecretsManager(this.etcdSecret, field),
        ]),
      ),
      portMappings: [{ containerPort: BRIDGE_HTTP_PORT, name: 'http' }],
      healthCheck: {
        command: ['CMD', 'node', '-e', HEALTH_PROBE],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(30),
      },
      // Time to release the leader lease on SIGTERM before SIGKILL.
      stopTimeout: Duration.seconds(30),
    });

    // Least privilege, written out by hand: `grantInvoke` would add `<arn>:*` (all versions and aliases) and
    // `grantSendMessages` would add GetQueueUrl, which the bridge does not need. GetQueueAttributes it does:
    // `start`'s preflight asks each dead-letter queue for it (bridge/preflight/queues.ts) and exits 2 if denied.
    const taskRole = this.taskDefinition.taskRole;
    taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeStageFunctions',
        actions: ['lambda:InvokeFunction'],
        resources: [heatStacks.function.functionArn, jobState.function.functionArn],
      }),
    );
    taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SendToDeadLetterQueues',
        actions: ['sqs:GetQueueAttributes', 'sqs:SendMessage'],
        resources: [heatStacks.deadLetterQueue.queueArn, jobState.deadLetterQueue.queueArn],
      }),
    );

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: config.desiredCount,
      // Start the new task before stopping an old one; the standby keeps the lease warm.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      securityGroups: [this.securityGroup],
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      enableExecuteCommand: false,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });

    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'Only non-secret settings (etcd endpoints, bridge group, function names, DLQ URLs, region) are plain ' +
        'environment variables; the etcd credentials and TLS material come from Secrets Manager as ECS secrets.',
    });
    if (this.taskDefinition.executionRole !== undefined) {
      Validations.of(this.taskDefinition.executionRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Task execution role pulling the bridge image: ecr:GetAuthorizationToken does not support ' +
          'resource-level permissions; every other statement names its repository, log group or secret.',
      });
    }

    new CfnOutput(this, 'ClusterName', { value: this.cluster.clusterName });
    new CfnOutput(this, 'ServiceName', { value: this.service.serviceName });
    new CfnOutput(this, 'LogGroupName', { value: this.logGroup.logGroupName });
    new CfnOutput(this, 'EtcdSecretArn', { value: this.etcdSecret.secretArn });
  }

  private createVpc(config: BridgeConfig): ec2.Vpc {
    const flowLogGroup = new logs.LogGroup(this, 'VpcFlowLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    return new ec2.Vpc(this, 'Vpc', {
      maxAzs: config.maxAzs,
      natGateways: config.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      flowLogs: {
        all: {
          trafficType: ec2.FlowLogTrafficType.ALL,
          destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
        },
      },
    });
  }

  private createEtcdSecret(removalPolicy: RemovalPolicy): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'EtcdSecret', {
      description:
        'etcd credentials and TLS material for the etcd bridge: JSON with username, password, caPem, certPem, keyPem',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: 'etcd-bridge', caPem: '', certPem: '', keyPem: '' }),
        generateStringKey: 'password',
        excludePunctuation: true,
        passwordLength: 32,
      },
      removalPolicy,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The etcd user and client certificate are issued by the etcd cluster, not by AWS; there is no rotation ' +
        'Lambda for etcd auth. Rotate in etcd, update the secret, then force a new deployment (docs/deploy.md).',
    });
    return secret;
  }
}
