import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { type BridgeConfig, STAGE_NAMES, type StageName } from '../config.js';
import { METRICS_NAMESPACE, type StageFunction } from '../constructs/stage-function.js';
import { pascal } from './pipeline-stack.js';

export interface MonitoringStackProps extends StackProps {
  /** The app's validated configuration. */
  readonly config: BridgeConfig;
  /** The stage functions, by route name. */
  readonly stages: Readonly<Record<StageName, StageFunction>>;
  /** The bridge's ECS service. */
  readonly service: ecs.FargateService;
}

/** The bridge's EMF metric of a route (namespace `EtcdBridge`, dimension `Route`). */
export function bridgeMetric(
  metricName: 'LagRevisions' | 'LagSeconds' | 'DeadLettered',
  route: StageName,
  props: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { Route: route },
    statistic: metricName === 'DeadLettered' ? cloudwatch.Stats.SUM : cloudwatch.Stats.MAXIMUM,
    period: Duration.minutes(1),
    ...props,
  });
}

/**
 * Alarms and a dashboard: each DLQ's depth above 0, each function's errors and throttles, the bridge's lag
 * per route (`LagRevisions`, `LagSeconds`) and its running task count. Alarm actions go to the SNS topic
 * given in context (`etcdBridge:alarmTopicArn`), if any.
 */
export class MonitoringStack extends Stack {
  /** Every alarm of this stack. */
  public readonly alarms: readonly cloudwatch.Alarm[];
  public readonly dashboard: cloudwatch.Dashboard;
  /** The alarm topic, when one was given in context. */
  public readonly alarmTopic: sns.ITopic | undefined;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const { config, stages, service } = props;
    const alarms: cloudwatch.Alarm[] = [];
    this.alarmTopic =
      config.alarmTopicArn !== undefined
        ? sns.Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn)
        : undefined;

    const alarm = (alarmId: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm => {
      const a = new cloudwatch.Alarm(this, alarmId, props);
      if (this.alarmTopic !== undefined) {
        a.addAlarmAction(new SnsAction(this.alarmTopic));
        a.addOkAction(new SnsAction(this.alarmTopic));
      }
      alarms.push(a);
      return a;
    };

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: config.stackPrefix,
      defaultInterval: Duration.hours(3),
    });

    for (const route of STAGE_NAMES) {
      const stage = stages[route];
      const p = pascal(route);
      const depth = stage.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      });
      const errors = stage.function.metricErrors({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.SUM,
      });
      const throttles = stage.function.metricThrottles({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.SUM,
      });
      const lagRevisions = bridgeMetric('LagRevisions', route);
      const lagSeconds = bridgeMetric('LagSeconds', route);

      alarm(`${p}DeadLetterQueueDepth`, {
        alarmDescription: `${route}: records in the dead-letter queue (failed for good); inspect and redrive them`,
        metric: depth,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm(`${p}Errors`, {
        alarmDescription: `${route}: the stage function reported errors`,
        metric: errors,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm(`${p}Throttles`, {
        alarmDescription: `${route}: the stage function was throttled (reserved concurrency or account limit)`,
        metric: throttles,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm(`${p}LagRevisions`, {
        alarmDescription: `${route}: the bridge is more than ${config.lagRevisionsThreshold} etcd revisions behind`,
        metric: lagRevisions,
        threshold: config.lagRevisionsThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: config.lagEvaluationMinutes,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm(`${p}LagSeconds`, {
        alarmDescription: `${route}: the bridge's oldest unprocessed change is more than ${config.lagSecondsThreshold} s old`,
        metric: lagSeconds,
        threshold: config.lagSecondsThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: config.lagEvaluationMinutes,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

      dashboard.addWidgets(
        new cloudwatch.TextWidget({ markdown: `## Stage \`${route}\``, width: 24, height: 1 }),
        new cloudwatch.GraphWidget({
          title: `${route}: bridge lag (revisions)`,
          left: [lagRevisions],
          leftAnnotations: [{ value: config.lagRevisionsThreshold, label: 'alarm' }],
          width: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${route}: bridge lag (seconds)`,
          left: [lagSeconds],
          leftAnnotations: [{ value: config.lagSecondsThreshold, label: 'alarm' }],
          width: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${route}: dead letters`,
          left: [depth],
          right: [bridgeMetric('DeadLettered', route)],
          width: 6,
        }),
        new cloudwatch.GraphWidget({
          title: `${route}: invocations, errors, throttles`,
          left: [stage.function.metricInvocations({ period: Duration.minutes(5) }), errors, throttles],
          right: [
            stage.function.metricDuration({ period: Duration.minutes(5), statistic: cloudwatch.Stats.p(99) }),
          ],
          width: 6,
        }),
      );
    }

    // Leader election needs at least one running task; lag metrics stop when none runs.
    const running = new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName: 'RunningTaskCount',
      dimensionsMap: { ClusterName: service.cluster.clusterName, ServiceName: service.serviceName },
      statistic: cloudwatch.Stats.MINIMUM,
      period: Duration.minutes(1),
    });
    alarm('BridgeNoRunningTask', {
      alarmDescription: 'The bridge service has no running task, so no route is being bridged',
      metric: running,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: '## Bridge service', width: 24, height: 1 }),
      new cloudwatch.GraphWidget({ title: 'bridge: running tasks', left: [running], width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'bridge: CPU and memory utilization',
        left: [service.metricCpuUtilization(), service.metricMemoryUtilization()],
        width: 8,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'alarms', alarms, width: 8 }),
    );

    this.alarms = alarms;
    this.dashboard = dashboard;
  }
}
