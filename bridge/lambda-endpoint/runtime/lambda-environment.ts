/**
 * How an execution environment's process is started: the environment variables Lambda sets and the
 * Node flags of the managed Node.js runtime's bootstrap.
 */
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import type { EnvironmentSpec } from './environment.js';
import type { RuntimeTools } from './runtime-tools.js';

/**
 * What Lambda sets (reserved variables win over the template's, as Lambda refuses to let a template
 * set them). Nothing of the endpoint's own environment leaks in: no credentials, no NODE_OPTIONS.
 */
export function lambdaEnvironment(
  spec: EnvironmentSpec,
  tools: RuntimeTools,
  runtimeApi: string,
): NodeJS.ProcessEnv {
  return {
    ...spec.environment,
    PATH: `${dirname(tools.node)}:/usr/local/bin:/usr/bin:/bin`,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    LAMBDA_TASK_ROOT: spec.taskRoot,
    LAMBDA_RUNTIME_DIR: dirname(tools.ric),
    _HANDLER: spec.handler,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: spec.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMiB),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: logStreamName(),
    AWS_LAMBDA_LOG_FORMAT: spec.logFormat,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_RUNTIME_API: runtimeApi,
    AWS_REGION: spec.region,
    AWS_DEFAULT_REGION: spec.region,
  };
}

/** The managed Node.js runtime's bootstrap sizes V8's heap from the function's memory, like this. */
export function nodeArgs(memoryMiB: number): string[] {
  const newSpace = Math.floor(memoryMiB / 10);
  return [
    '--expose-gc',
    '--max-http-header-size=81920',
    `--max-semi-space-size=${Math.max(1, Math.floor(newSpace / 2))}`,
    `--max-old-space-size=${memoryMiB - newSpace}`,
  ];
}

function logStreamName(): string {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}
