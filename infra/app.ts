#!/usr/bin/env node
// The CDK app (cdk.json: "app": "npx tsx infra/app.ts"). It only creates stacks: no AWS calls at synth, except
// the VPC lookup when etcdBridge:vpcId is given. cdk-nag's AwsSolutions pack runs as a policy-validation
// plugin; an unacknowledged error fails synth. Settings: CDK context, see infra/config.ts and docs/deploy.md.
import { createApp } from './build.js';
import { ConfigError } from './config.js';

try {
  createApp();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
