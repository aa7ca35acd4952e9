/**
 * Before a bridge campaigns: would every record be dead-lettered anyway? A function that does not
 * resolve, missing credentials or region, an SQS dead-letter queue that does not answer. Each is
 * found here in a second or two, and named with the setting that fixes it, instead of by the
 * first record after six retries. `--skip-preflight` for environments that forbid these calls.
 */
import type { LambdaClient, LambdaClientConfig } from '@aws-sdk/client-lambda';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { BridgeConfig } from '../config.js';
import { checkAwsIdentity, checkInProcessFunctions, checkLambdaFunctions } from './functions.js';
import type { PreflightProblem } from './problem.js';
import { checkDeadLetterQueues } from './queues.js';

export interface PreflightOptions {
  /** Clients to check with (tests); default: built from the configuration as the bridge builds them. */
  lambdaClient?: LambdaClient;
  sqsClient?: SQSClient;
  /** Deadline of one call. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export async function preflight(
  config: BridgeConfig,
  options: PreflightOptions = {},
): Promise<PreflightProblem[]> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const problems: PreflightProblem[] = [];
  const owned: Array<{ destroy(): void }> = [];
  try {
    if (config.invoke.mode === 'inprocess') problems.push(...checkInProcessFunctions(config.routes));
    else {
      // The SDKs are loaded only for the checks that use them (in-process, etcd sink: neither).
      const lambda =
        options.lambdaClient ??
        new (await import('@aws-sdk/client-lambda')).LambdaClient(lambdaClientConfig(config, env));
      if (!options.lambdaClient) owned.push(lambda);
      const identity =
        config.invoke.endpoint === undefined
          ? await checkAwsIdentity(lambda, 'Lambda', config.invoke.region !== undefined || hasRegion(env))
          : [];
      problems.push(...identity);
      if (identity.length === 0) problems.push(...(await checkLambdaFunctions(lambda, config, timeoutMs)));
    }
    if (config.deadLetter.sink === 'sqs') {
      const sqs =
        options.sqsClient ??
        new (await import('@aws-sdk/client-sqs')).SQSClient({
          maxAttempts: 2,
          ...(config.deadLetter.region === undefined ? {} : { region: config.deadLetter.region }),
        });
      if (!options.sqsClient) owned.push(sqs);
      problems.push(...(await checkDeadLetterQueues(sqs, config, timeoutMs)));
    }
  } finally {
    for (const client of owned) client.destroy();
  }
  return problems;
}

function hasRegion(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.AWS_REGION || env.AWS_DEFAULT_REGION);
}

/** The client the bridge's LambdaInvoker makes (bridge/invoke/lambda.ts), with one retry for the check. */
function lambdaClientConfig(config: BridgeConfig, env: NodeJS.ProcessEnv): LambdaClientConfig {
  const out: LambdaClientConfig = {
    region: config.invoke.region ?? env.AWS_REGION ?? 'us-east-1',
    maxAttempts: 2,
  };
  if (config.invoke.endpoint) {
    out.endpoint = config.invoke.endpoint;
    if (!env.AWS_ACCESS_KEY_ID) out.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  }
  return out;
}
