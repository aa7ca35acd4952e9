import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../shared/index.js';

/** Powertools log levels accepted by `POWERTOOLS_LOG_LEVEL`. */
export type StageLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** The CloudWatch metrics namespace shared by the stage functions and the bridge (shared/names.ts). */
export { METRICS_NAMESPACE };

/**
 * The newest Node.js Lambda runtime this aws-cdk-lib offers (cdk-nag's AwsSolutions-L1 asks for the newest).
 * Bump this when aws-cdk-lib gains a newer `NODEJS_*` runtime; the cdk-nag test fails until you do.
 */
export const STAGE_RUNTIME = lambda.Runtime.NODEJS_24_X;

export interface StageFunctionProps {
  /** The stage (= route) name, e.g. `heat-stacks`; also the Powertools service name. */
  readonly stageName: string;
  /** Absolute path of the handler's TypeScript entry file (it must `export const handler`). */
  readonly entry: string;
  /**
   * Absolute path of the project root (where package.json and package-lock.json live).
   * @default - derived by NodejsFunction from the lock file it finds walking up from `entry`
   */
  readonly projectRoot?: string;
  /**
   * Name of the exported handler.
   * @default 'handler'
   */
  readonly handler?: string;
  /**
   * Instruction set of the function.
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;
  /**
   * Memory of the function, in MiB.
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Timeout of one invocation.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * `POWERTOOLS_LOG_LEVEL`.
   * @default 'INFO'
   */
  readonly logLevel?: StageLogLevel;
  /**
   * `POWERTOOLS_METRICS_NAMESPACE`.
   * @default 'EtcdBridge'
   */
  readonly metricsNamespace?: string;
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Reserved concurrent executions of the function.
   * @default - unreserved (uses the account's unreserved pool)
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * How many times Lambda retries a failed asynchronous invocation (0-2) before sending it to the DLQ.
   * @default 2
   */
  readonly maxRetryAttempts?: number;
  /**
   * How long Lambda keeps an asynchronous event queued before sending it to the DLQ (60 s to 6 h).
   * @default Duration.hours(1)
   */
  readonly maxEventAge?: Duration;
  /**
   * How long the dead-letter queue keeps a message.
   * @default Duration.days(14)
   */
  readonly deadLetterRetention?: Duration;
  /**
   * What happens to the log group and the dead-letter queue when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Extra environment variables (the Powertools ones cannot be overridden here).
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
}

/**
 * One stage function of the pipeline: an ESM-bundled Node.js Lambda (local esbuild, no Docker) with
 * Powertools settings, X-Ray tracing, its own log group and role, and an encrypted SQS dead-letter queue
 * that is both the function's `DeadLetterConfig` and the `OnFailure` destination of its async invoke config.
 * The bridge also sends records that fail for good to this queue.
 */
export class StageFunction extends Construct {
  /** The stage (= route) name. */
  public readonly stageName: string;
  /** The Lambda function. */
  public readonly function: NodejsFunction;
  /** The function's execution role. */
  public readonly role: iam.Role;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;
  /** The dead-letter queue (SSE-SQS, TLS only, 14-day retention by default). */
  public readonly deadLetterQueue: sqs.Queue;
  /** The function's asynchronous invocation settings (retries, event age, OnFailure → DLQ). */
  public readonly eventInvokeConfig: lambda.EventInvokeConfig;

  constructor(scope: Construct, id: string, props: StageFunctionProps) {
    super(scope, id);
    this.stageName = props.stageName;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.deadLetterRetention ?? Duration.days(14),
      removalPolicy,
    });

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy,
    });

    // An own role instead of AWSLambdaBasicExecutionRole: it may write to this log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.stageName} stage function`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      description: `etcd bridge stage function ${props.stageName}`,
      entry: props.entry,
      handler: props.handler ?? 'handler',
      ...(props.projectRoot !== undefined ? { projectRoot: props.projectRoot } : {}),
      runtime: STAGE_RUNTIME,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      deadLetterQueue: this.deadLetterQueue,
      ...(props.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
        : {}),
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: props.stageName,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? METRICS_NAMESPACE,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        // Always the locally installed esbuild; never a Docker bundling image.
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        // ESM bundles of CommonJS dependencies need `require`.
        banner:
          "import { createRequire as __createRequire } from 'node:module';const require = __createRequire(import.meta.url);",
      },
    });

    this.eventInvokeConfig = new lambda.EventInvokeConfig(this, 'AsyncInvokeConfig', {
      function: this.function,
      onFailure: new SqsDestination(this.deadLetterQueue),
      retryAttempts: props.maxRetryAttempts ?? 2,
      maxEventAge: props.maxEventAge ?? Duration.hours(1),
    });

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions.',
    });
  }
}
