import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { type BridgeConfig, STAGE_NAMES, type StageName } from '../config.js';
import { StageFunction } from '../constructs/stage-function.js';
import { REPO_ROOT, stageEntry } from '../paths.js';

export interface PipelineStackProps extends StackProps {
  /** The app's validated configuration. */
  readonly config: BridgeConfig;
}

/** The stage functions the bridge invokes, each with its dead-letter queue. */
export class PipelineStack extends Stack {
  /** The stages, by route name. */
  public readonly stages: Readonly<Record<StageName, StageFunction>>;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config } = props;
    const stages = {} as Record<StageName, StageFunction>;
    for (const stageName of STAGE_NAMES) {
      stages[stageName] = new StageFunction(this, pascal(stageName), {
        stageName,
        entry: stageEntry(stageName),
        projectRoot: REPO_ROOT,
        architecture:
          config.architecture === 'ARM64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
        memorySize: config.functionMemoryMiB,
        timeout: Duration.seconds(config.functionTimeoutSeconds),
        logLevel: config.logLevel,
        logRetention: config.logRetentionDays as RetentionDays,
        reservedConcurrentExecutions: config.reservedConcurrency[stageName],
        maxRetryAttempts: config.maxRetryAttempts,
        maxEventAge: Duration.seconds(config.maxEventAgeSeconds),
        removalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      });
      const stage = stages[stageName];
      new CfnOutput(this, `${pascal(stageName)}FunctionName`, { value: stage.function.functionName });
      new CfnOutput(this, `${pascal(stageName)}DeadLetterQueueUrl`, {
        value: stage.deadLetterQueue.queueUrl,
      });
    }
    this.stages = stages;
  }
}

/** `heat-stacks` → `HeatStacks`. */
export function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
