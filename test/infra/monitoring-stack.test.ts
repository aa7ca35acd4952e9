import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { STAGE_NAMES } from '../../infra/config.js';
import { pascal } from '../../infra/stacks/pipeline-stack.js';
import { acknowledgements, nagFindings, type SynthesizedApp, synthApp } from './support.js';

const ALARM = 'AWS::CloudWatch::Alarm';
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:etcd-bridge-alarms';

let synth: SynthesizedApp;
beforeAll(() => {
  synth = synthApp({}, { bundle: false });
});

const template = () => synth.template(synth.monitoring);

/** A weak cross-stack reference to an output of another stack. */
const output = (stackName: string, outputName: unknown) => ({
  'Fn::GetStackOutput': { StackName: stackName, Region: { Ref: 'AWS::Region' }, OutputName: outputName },
});

describe('MonitoringStack', () => {
  it('has five alarms per stage, one for the bridge service, and a dashboard', () => {
    template().resourceCountIs(ALARM, STAGE_NAMES.length * 5 + 1);
    template().resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template().hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'EtcdBridge' });
    expect(synth.monitoring.alarms).toHaveLength(11);
  });

  it.each(STAGE_NAMES)('%s: alarms when its DLQ holds any message', (route) => {
    const queueId = synth.pipeline.getLogicalId(
      synth.pipeline.stages[route].deadLetterQueue.node.defaultChild as never,
    );
    template().hasResourceProperties(ALARM, {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: output(
            'EtcdBridgePipeline',
            Match.stringLikeRegexp(`^PublishOutputFnGetAtt${queueId}QueueName`),
          ),
        },
      ],
      Statistic: 'Maximum',
      Period: 60,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it.each(STAGE_NAMES)('%s: alarms on function errors and throttles', (route) => {
    const functionId = synth.pipeline.getLogicalId(
      synth.pipeline.stages[route].function.node.defaultChild as never,
    );
    for (const metricName of ['Errors', 'Throttles']) {
      template().hasResourceProperties(ALARM, {
        Namespace: 'AWS/Lambda',
        MetricName: metricName,
        Dimensions: [
          {
            Name: 'FunctionName',
            Value: output('EtcdBridgePipeline', Match.stringLikeRegexp(`^PublishOutputRef${functionId}`)),
          },
        ],
        Statistic: 'Sum',
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
      });
    }
  });

  it.each(STAGE_NAMES)("%s: alarms on the bridge's lag (EMF metrics, namespace EtcdBridge)", (route) => {
    for (const [metricName, threshold] of [
      ['LagRevisions', 1000],
      ['LagSeconds', 300],
    ] as const) {
      template().hasResourceProperties(ALARM, {
        Namespace: 'EtcdBridge',
        MetricName: metricName,
        Dimensions: [{ Name: 'Route', Value: route }],
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: 5,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: threshold,
      });
    }
  });

  it('alarms when no bridge task runs', () => {
    template().hasResourceProperties(ALARM, {
      Namespace: 'ECS/ContainerInsights',
      MetricName: 'RunningTaskCount',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
  });

  it('shows every route and alarm on the dashboard', () => {
    const body = JSON.stringify(template().toJSON().Resources);
    for (const route of STAGE_NAMES) {
      for (const metric of ['LagRevisions', 'LagSeconds', 'DeadLettered']) {
        expect(body).toContain(`\\"${metric}\\",\\"Route\\",\\"${route}\\"`);
      }
      expect(body).toContain(`${pascal(route)}DeadLetterQueueDepth`);
    }
  });

  it('has no alarm actions without a topic', () => {
    template().allResourcesProperties(ALARM, { AlarmActions: Match.absent(), OKActions: Match.absent() });
  });

  it('notifies the SNS topic from context and uses the thresholds from context', () => {
    const variant = synthApp(
      {
        'etcdBridge:alarmTopicArn': TOPIC_ARN,
        'etcdBridge:lagRevisionsThreshold': '50',
        'etcdBridge:lagEvaluationMinutes': 2,
        'etcdBridge:stackPrefix': 'Staging',
      },
      { bundle: false },
    );
    expect(variant.monitoring.stackName).toBe('StagingMonitoring');
    const t = variant.template(variant.monitoring);
    t.allResourcesProperties(ALARM, { AlarmActions: [TOPIC_ARN], OKActions: [TOPIC_ARN] });
    t.hasResourceProperties(ALARM, { MetricName: 'LagRevisions', Threshold: 50, EvaluationPeriods: 2 });
    t.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'Staging' });
    expect(nagFindings(variant.monitoring)).toEqual([]);
  });

  it('has no unacknowledged cdk-nag AwsSolutions errors or warnings, and needs no acknowledgement', () => {
    expect(nagFindings(synth.monitoring)).toEqual([]);
    expect(acknowledgements(synth.monitoring)).toEqual([]);
  });
});
