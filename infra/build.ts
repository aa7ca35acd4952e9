import { App, type AppProps, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type BridgeConfig, readConfig } from './config.js';
import { BridgeStack } from './stacks/bridge-stack.js';
import { MonitoringStack } from './stacks/monitoring-stack.js';
import { PipelineStack } from './stacks/pipeline-stack.js';

export interface EtcdBridgeStacks {
  readonly pipeline: PipelineStack;
  readonly bridge: BridgeStack;
  readonly monitoring: MonitoringStack;
}

/**
 * Creates the app's stacks: `<prefix>Pipeline` (stage functions + DLQs), `<prefix>Service` (the bridge on
 * Fargate) and `<prefix>Monitoring` (alarms, dashboard). Only creates constructs: no AWS calls.
 */
export function createStacks(app: App, config: BridgeConfig): EtcdBridgeStacks {
  const env = config.env !== undefined ? { env: config.env } : {};
  const prefix = config.stackPrefix;
  const pipeline = new PipelineStack(app, `${prefix}Pipeline`, {
    ...env,
    config,
    description: 'etcd bridge: stage functions (heat-stacks, job-state) and their dead-letter queues',
  });
  const bridge = new BridgeStack(app, `${prefix}Service`, {
    ...env,
    config,
    stages: pipeline.stages,
    description: 'etcd bridge: the bridge service on ECS Fargate',
  });
  const monitoring = new MonitoringStack(app, `${prefix}Monitoring`, {
    ...env,
    config,
    stages: pipeline.stages,
    service: bridge.service,
    description: 'etcd bridge: alarms and dashboard',
  });
  for (const stack of [pipeline, bridge, monitoring]) {
    Tags.of(stack).add('project', 'etcd-bridge');
  }
  return { pipeline, bridge, monitoring };
}

/**
 * The whole app as `cdk synth` runs it: an App, its configuration read from context, the stacks, and cdk-nag's
 * AwsSolutions pack as a policy-validation plugin (an unacknowledged error fails synth).
 */
export function createApp(
  props: AppProps = {},
): EtcdBridgeStacks & { readonly app: App; readonly config: BridgeConfig } {
  const app = new App(props);
  const config = readConfig(app.node);
  const stacks = createStacks(app, config);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, config, ...stacks };
}
