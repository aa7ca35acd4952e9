import { describe, expect, it } from 'vitest';
import type { EnvironmentSpec } from '../../../../../bridge/lambda-endpoint/runtime/environment.js';
import {
  lambdaEnvironment,
  nodeArgs,
} from '../../../../../bridge/lambda-endpoint/runtime/lambda-environment.js';

const spec: EnvironmentSpec = {
  functionName: 'heat-stacks',
  taskRoot: '/bundles/asset.1',
  handler: 'index.handler',
  memoryMiB: 256,
  timeoutMs: 30_000,
  // A template may not override Lambda's reserved variables: Lambda's values win.
  environment: { POWERTOOLS_SERVICE_NAME: 'heat-stacks', AWS_REGION: 'template-region', _HANDLER: 'x.y' },
  logFormat: 'JSON',
  region: 'eu-west-1',
  maxPayloadBytes: 6291456,
};
const tools = { node: '/tools/bin/node', ric: '/tools/aws-lambda-ric/index.mjs' };

describe("an execution environment's process", () => {
  it("gets the template's variables and, over them, the ones Lambda sets; nothing of ours", () => {
    process.env.AWS_SECRET_ACCESS_KEY_FOR_THIS_TEST = 'must not leak';
    const env = lambdaEnvironment(spec, tools, '127.0.0.1:9001');
    expect(env).toMatchObject({
      POWERTOOLS_SERVICE_NAME: 'heat-stacks',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      _HANDLER: 'index.handler',
      LAMBDA_TASK_ROOT: '/bundles/asset.1',
      LAMBDA_RUNTIME_DIR: '/tools/aws-lambda-ric',
      AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9001',
      AWS_LAMBDA_FUNCTION_NAME: 'heat-stacks',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_LAMBDA_LOG_FORMAT: 'JSON',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/heat-stacks',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      TZ: ':UTC',
    });
    expect(env.AWS_LAMBDA_LOG_STREAM_NAME).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(env.PATH?.startsWith('/tools/bin:')).toBe(true);
    expect(env.AWS_SECRET_ACCESS_KEY_FOR_THIS_TEST).toBeUndefined();
    expect(env.NODE_OPTIONS).toBeUndefined();
    delete process.env.AWS_SECRET_ACCESS_KEY_FOR_THIS_TEST;
  });

  it("sizes V8's heap from the function's memory, as the managed runtime's bootstrap does", () => {
    expect(nodeArgs(256)).toEqual([
      '--expose-gc',
      '--max-http-header-size=81920',
      '--max-semi-space-size=12',
      '--max-old-space-size=231',
    ]);
  });
});
