import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { STAGE_NAMES } from '../../infra/config.js';
import { acknowledgements, nagFindings, type SynthesizedApp, synthApp } from './support.js';

const FUNCTION = 'AWS::Lambda::Function';

let synth: SynthesizedApp;
beforeAll(() => {
  synth = synthApp(); // bundles both functions with the local esbuild
});

const template = () => synth.template(synth.pipeline);
const ref = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const logicalId = (construct: Parameters<typeof synth.pipeline.getLogicalId>[0]) =>
  synth.pipeline.getLogicalId(construct);

describe('PipelineStack', () => {
  it('holds exactly the two stages and nothing else', () => {
    const t = template();
    t.resourceCountIs(FUNCTION, 2);
    t.resourceCountIs('AWS::SQS::Queue', 2);
    t.resourceCountIs('AWS::SQS::QueuePolicy', 2);
    t.resourceCountIs('AWS::Lambda::EventInvokeConfig', 2);
    t.resourceCountIs('AWS::Logs::LogGroup', 2);
    t.resourceCountIs('AWS::IAM::Role', 2);
    t.resourceCountIs('AWS::IAM::Policy', 2);
    expect(Object.keys(synth.pipeline.stages).sort()).toEqual([...STAGE_NAMES].sort());
  });

  it.each(STAGE_NAMES)(
    '%s: Node.js 24 on ARM64, X-Ray, Powertools environment, own log group',
    (stageName) => {
      const stage = synth.pipeline.stages[stageName];
      template().hasResourceProperties(FUNCTION, {
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 256,
        Timeout: 30,
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: { Ref: logicalId(stage.logGroup.node.defaultChild as never) } },
        Environment: {
          Variables: {
            POWERTOOLS_SERVICE_NAME: stageName,
            POWERTOOLS_LOG_LEVEL: 'INFO',
            POWERTOOLS_METRICS_NAMESPACE: 'EtcdBridge',
          },
        },
      });
      template().hasResourceProperties('AWS::Logs::LogGroup', {
        RetentionInDays: 30,
      });
      expect(
        template().findResources(FUNCTION, {
          Properties: { ReservedConcurrentExecutions: Match.anyValue() },
        }),
      ).toEqual({});
    },
  );

  it.each(STAGE_NAMES)('%s: an ESM bundle built by the local esbuild', (stageName) => {
    const fn = synth.pipeline.stages[stageName].function;
    const resource = template().toJSON().Resources[logicalId(fn.node.defaultChild as never)];
    expect(resource.Metadata['aws:asset:is-bundled']).toBe(true);
    const assetDir = join(synth.assembly.directory, resource.Metadata['aws:asset:path']);
    expect(existsSync(join(assetDir, 'index.mjs'))).toBe(true);
  });

  it.each(STAGE_NAMES)(
    '%s: the DLQ is both DeadLetterConfig and the async OnFailure destination',
    (stageName) => {
      const stage = synth.pipeline.stages[stageName];
      const queueId = logicalId(stage.deadLetterQueue.node.defaultChild as never);
      const functionId = logicalId(stage.function.node.defaultChild as never);
      expect(template().toJSON().Resources[functionId].Properties.DeadLetterConfig).toEqual({
        TargetArn: ref(queueId),
      });
      template().hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: functionId },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 3600,
        DestinationConfig: { OnFailure: { Destination: ref(queueId) } },
      });
    },
  );

  it.each(STAGE_NAMES)(
    '%s: the DLQ is encrypted, keeps messages 14 days and refuses plain HTTP',
    (stageName) => {
      const stage = synth.pipeline.stages[stageName];
      const queueId = logicalId(stage.deadLetterQueue.node.defaultChild as never);
      expect(template().toJSON().Resources[queueId]).toMatchObject({
        Type: 'AWS::SQS::Queue',
        Properties: { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 },
        DeletionPolicy: 'Retain',
      });
      template().hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queueId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Resource: ref(queueId),
            }),
          ]),
        },
      });
    },
  );

  it.each(STAGE_NAMES)(
    '%s: the role may write its log group and DLQ; only X-Ray is unscoped',
    (stageName) => {
      const stage = synth.pipeline.stages[stageName];
      const policyId = logicalId(stage.role.node.findChild('DefaultPolicy').node.defaultChild as never);
      const statements = template().toJSON().Resources[policyId].Properties.PolicyDocument.Statement;
      expect(statements).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: ref(logicalId(stage.logGroup.node.defaultChild as never)),
        },
        {
          Effect: 'Allow',
          Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
          Resource: ref(logicalId(stage.deadLetterQueue.node.defaultChild as never)),
        },
        { Effect: 'Allow', Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' },
      ]);
      template().resourcePropertiesCountIs('AWS::IAM::Role', { ManagedPolicyArns: Match.anyValue() }, 0);
    },
  );

  it('passes context settings through (reserved concurrency, retries, memory, x86)', () => {
    const variant = synthApp(
      {
        'etcdBridge:heatStacksReservedConcurrency': '4',
        'etcdBridge:maxRetryAttempts': 0,
        'etcdBridge:maxEventAgeSeconds': 600,
        'etcdBridge:functionMemoryMiB': 512,
        'etcdBridge:architecture': 'X86_64',
        'etcdBridge:logLevel': 'DEBUG',
        'etcdBridge:removalPolicy': 'destroy',
      },
      { bundle: false },
    );
    const t = variant.template(variant.pipeline);
    t.hasResourceProperties(FUNCTION, {
      Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'heat-stacks', POWERTOOLS_LOG_LEVEL: 'DEBUG' } },
      ReservedConcurrentExecutions: 4,
      MemorySize: 512,
      Architectures: ['x86_64'],
    });
    t.resourcePropertiesCountIs(FUNCTION, { ReservedConcurrentExecutions: Match.anyValue() }, 1);
    t.allResourcesProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 600,
    });
    t.allResources('AWS::SQS::Queue', { DeletionPolicy: 'Delete' });
  });

  it('has no unacknowledged cdk-nag AwsSolutions errors or warnings', () => {
    expect(nagFindings(synth.pipeline)).toEqual([]);
  });

  it('acknowledges only X-Ray wildcard, once per stage role, with its reason', () => {
    const acks = acknowledgements(synth.pipeline);
    expect(acks.map((a) => [a.path, a.id])).toEqual([
      ['EtcdBridgePipeline/HeatStacks/Role', 'AwsSolutions-IAM5[Resource::*]'],
      ['EtcdBridgePipeline/JobState/Role', 'AwsSolutions-IAM5[Resource::*]'],
    ]);
    for (const ack of acks) expect(ack.reason).toMatch(/X-Ray.*resource-level permissions/);
  });
});
