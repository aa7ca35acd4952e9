/**
 * `--runtime ric` against a test-only handler (test/fixtures/ric/handler): real execution
 * environments (aws-lambda-ric on Node 24, fed through the Runtime API the endpoint serves), driven
 * by the real @aws-sdk/client-lambda. One endpoint for the whole file: environments are reused
 * across cases, as Lambda reuses them, which keeps the file quick.
 */
import { fileURLToPath } from 'node:url';
import {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  ResourceNotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployableFunction } from '../../bridge/lambda-endpoint/runtime/deployable.js';
import { type RuntimeHost, runtimeHost } from '../../bridge/lambda-endpoint/runtime/runtime-host.js';
import { ensureRuntimeTools } from '../../bridge/lambda-endpoint/runtime/runtime-tools.js';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  type LambdaEndpoint,
  startLambdaEndpoint,
} from '../../bridge/lambda-endpoint/server.js';
import { waitFor } from '../helpers/wait.js';

const TASK_ROOT = fileURLToPath(new URL('../fixtures/ric/handler', import.meta.url));

function fixture(name: string, overrides: Partial<DeployableFunction> = {}): DeployableFunction {
  return {
    name,
    taskRoot: TASK_ROOT,
    handler: 'index.handler',
    runtime: 'nodejs24.x',
    memoryMiB: 128,
    timeoutSeconds: 2,
    environment: { FIXTURE_SETTING: 'from the template' },
    logFormat: 'Text',
    reservedConcurrency: undefined,
    ...overrides,
  };
}

interface EchoBody {
  echo: unknown;
  pid: number;
  node: string;
  context: { functionName: string; memoryLimitInMB: string; awsRequestId: string; remainingMs: number };
  env: Record<string, string | null>;
}

describe('--runtime ric: execution environments under aws-lambda-ric on Node 24', () => {
  let host: RuntimeHost;
  let endpoint: LambdaEndpoint;
  let lambda: LambdaClient;
  const functionLog: string[] = [];

  beforeAll(async () => {
    host = runtimeHost({
      functions: [
        fixture('fixture'),
        // Reserved concurrency 1: the second concurrent call is throttled.
        fixture('single', { reservedConcurrency: 1 }),
        fixture('no-such-export', { handler: 'index.nope' }),
        fixture('no-such-module', { handler: 'missing.handler' }),
      ],
      tools: await ensureRuntimeTools(),
      maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
      region: 'eu-west-1',
      onFunctionLog: (_fn, line) => functionLog.push(line),
    });
    endpoint = await startLambdaEndpoint({ functionHost: host, port: 0, log: () => {} });
    lambda = new LambdaClient({
      endpoint: endpoint.url,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    lambda?.destroy();
    await endpoint?.close();
  });

  const invoke = (
    FunctionName: string,
    payload: unknown,
    extra: { LogType?: 'Tail' } = {},
  ): Promise<InvokeCommandOutput> =>
    lambda.send(new InvokeCommand({ FunctionName, Payload: Buffer.from(JSON.stringify(payload)), ...extra }));
  const body = (out: InvokeCommandOutput): unknown => JSON.parse(Buffer.from(out.Payload ?? []).toString());

  it('answers on Node 24 with the environment Lambda sets; the second call is warm, in the same process', async () => {
    // Act
    const cold = await invoke('fixture', { n: 1 });
    const warm = await invoke('fixture', { n: 2 });

    // Assess
    expect(cold.StatusCode).toBe(200);
    expect(cold.FunctionError).toBeUndefined();
    const first = body(cold) as EchoBody;
    const second = body(warm) as EchoBody;
    expect(first.echo).toEqual({ n: 1 });
    expect(first.node).toMatch(/^v24\./);
    expect(second.pid).toBe(first.pid);
    expect(first.context).toMatchObject({ functionName: 'fixture', memoryLimitInMB: '128' });
    expect(first.context.remainingMs).toBeGreaterThan(0);
    expect(first.context.remainingMs).toBeLessThanOrEqual(2000);
    expect(first.env).toMatchObject({
      AWS_LAMBDA_FUNCTION_NAME: 'fixture',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
      AWS_LAMBDA_LOG_FORMAT: 'Text',
      AWS_REGION: 'eu-west-1',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      LAMBDA_TASK_ROOT: TASK_ROOT,
      _HANDLER: 'index.handler',
      FIXTURE_SETTING: 'from the template',
      // Nothing of the endpoint's own environment (credentials above all) reaches the function.
      AWS_ACCESS_KEY_ID: null,
    });
    expect(first.env.AWS_LAMBDA_RUNTIME_API).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(first.env._X_AMZN_TRACE_ID).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24};/);
  });

  it('a function error comes back as the runtime reported it, with FunctionError Unhandled', async () => {
    const out = await invoke('fixture', { action: 'throw' });
    expect(out.FunctionError).toBe('Unhandled');
    const error = body(out) as { errorType: string; errorMessage: string; trace: string[] };
    expect(error.errorType).toBe('TypeError');
    expect(error.errorMessage).toBe('thrown on purpose');
    expect(error.trace[0]).toBe('TypeError: thrown on purpose');
  });

  it('X-Amz-Log-Type Tail returns the invocation log (START, its lines, END, REPORT), base64', async () => {
    const out = await invoke('fixture', { action: 'log', text: 'tail line', lines: 2 }, { LogType: 'Tail' });
    const log = Buffer.from(out.LogResult ?? '', 'base64').toString('utf8');
    expect(log).toMatch(/^START RequestId: [0-9a-f-]{36} Version: \$LATEST\n/);
    expect(log).toMatch(/\tINFO\ttail line 0\n/);
    expect(log).toMatch(/\tINFO\ttail line 1\n/);
    expect(log).toMatch(
      /END RequestId: [0-9a-f-]{36}\nREPORT RequestId: [0-9a-f-]{36}\tDuration: [\d.]+ ms\t/,
    );
    expect(log).toMatch(/Memory Size: 128 MB\tMax Memory Used: \d+ MB/);
    expect(functionLog.some((line) => line.endsWith('\tINFO\ttail line 1'))).toBe(true);
  });

  it('the log tail is the last 4 KB only', async () => {
    const out = await invoke(
      'fixture',
      { action: 'log', text: 'x'.repeat(200), lines: 100 },
      { LogType: 'Tail' },
    );
    const tail = Buffer.from(out.LogResult ?? '', 'base64');
    expect(tail.length).toBeLessThanOrEqual(4096);
    expect(tail.length).toBeGreaterThan(4000);
    expect(tail.toString('utf8')).toMatch(/REPORT RequestId: .*\n$/);
  });

  it("past the function's timeout the environment is killed: Sandbox.Timedout, Task timed out after 2.00 seconds", async () => {
    // Prepare
    const before = body(await invoke('fixture', {})) as EchoBody;

    // Act
    const out = await invoke('fixture', { action: 'sleep', ms: 10_000 });

    // Assess
    expect(out.FunctionError).toBe('Unhandled');
    const error = body(out) as { errorType: string; errorMessage: string };
    expect(error.errorType).toBe('Sandbox.Timedout');
    expect(error.errorMessage).toBe(
      `RequestId: ${out.$metadata.requestId} Error: Task timed out after 2.00 seconds`,
    );
    // The next invocation is a cold start in a new process.
    const after = body(await invoke('fixture', {})) as EchoBody;
    expect(after.pid).not.toBe(before.pid);
  });

  it('a process that exits mid-invocation gives Runtime.ExitError, and the next call starts a new one', async () => {
    const out = await invoke('fixture', { action: 'crash' });
    expect(out.FunctionError).toBe('Unhandled');
    expect(body(out)).toEqual({
      errorType: 'Runtime.ExitError',
      errorMessage: `RequestId: ${out.$metadata.requestId} Error: Runtime exited with error: exit status 3`,
    });
    expect((body(await invoke('fixture', {})) as EchoBody).echo).toEqual({});
  });

  it('a handler the bundle does not export: the init error, Runtime.HandlerNotFound', async () => {
    const out = await invoke('no-such-export', {});
    expect(out.FunctionError).toBe('Unhandled');
    expect(body(out)).toMatchObject({
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: 'index.nope is undefined or not exported',
    });
    // Init fails again on the next call: a failed environment is never reused.
    expect(body(await invoke('no-such-export', {}))).toMatchObject({ errorType: 'Runtime.HandlerNotFound' });
  });

  it('a handler module that is missing: Runtime.ImportModuleError', async () => {
    const out = await invoke('no-such-module', {});
    expect(out.FunctionError).toBe('Unhandled');
    expect(body(out)).toMatchObject({ errorType: 'Runtime.ImportModuleError' });
  });

  it('an unknown function is ResourceNotFoundException, as AWS names it', async () => {
    const error = await invoke('nope', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect((error as Error).message).toBe(
      'Function not found: arn:aws:lambda:local:000000000000:function:nope',
    );
  });

  it('one invocation at a time per environment: past the reserved concurrency, TooManyRequestsException', async () => {
    // Prepare: the one environment is busy.
    const busy = invoke('single', { action: 'sleep', ms: 1500 });
    await waitFor('the environment to be busy', () => host.pool('single')?.environments()[0]?.busy);

    // Act
    const error = await invoke('single', {}).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TooManyRequestsException);
    expect((error as TooManyRequestsException).Reason).toBe(
      'ReservedFunctionConcurrentInvocationLimitExceeded',
    );
    expect((error as TooManyRequestsException).$metadata.httpStatusCode).toBe(429);
    expect(body(await busy)).toEqual({ slept: 1500 });
    expect(host.pool('single')?.size).toBe(1);
  });

  it('an Event invocation past the concurrency waits for the environment instead of being throttled', async () => {
    // Prepare: the one environment is busy.
    const busy = invoke('single', { action: 'sleep', ms: 800 });
    await waitFor('the environment to be busy', () => host.pool('single')?.environments()[0]?.busy);

    // Act
    const out = await lambda.send(
      new InvokeCommand({
        FunctionName: 'single',
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify({ action: 'log', text: 'queued behind the busy one' })),
      }),
    );

    // Assess
    expect(out.StatusCode).toBe(202);
    await busy;
    await waitFor('the queued event to run', () =>
      functionLog.some((line) => line.endsWith('\tqueued behind the busy one 0')),
    );
    expect(host.pool('single')?.size).toBe(1);
  });

  it('concurrent calls under the limit get environments of their own', async () => {
    const pool = host.pool('fixture');
    const results = await Promise.all(
      [1, 2, 3].map((n) => invoke('fixture', { action: 'sleep', ms: 300 + n })),
    );
    expect(results.every((r) => r.FunctionError === undefined)).toBe(true);
    expect(pool?.size).toBeGreaterThanOrEqual(3);
  });

  it('a response over 6 MB is Function.ResponseSizeTooLarge', async () => {
    const out = await invoke('fixture', { action: 'big', bytes: DEFAULT_MAX_PAYLOAD_BYTES + 10 });
    expect(out.FunctionError).toBe('Unhandled');
    expect(body(out)).toMatchObject({ errorType: 'Function.ResponseSizeTooLarge' });
  });

  it('an Event invocation is accepted (202) and runs in an environment', async () => {
    const out = await lambda.send(
      new InvokeCommand({
        FunctionName: 'fixture',
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify({ action: 'log', text: 'async event' })),
      }),
    );
    expect(out.StatusCode).toBe(202);
    await waitFor('the event to run', () => functionLog.some((line) => line.endsWith('\tasync event 0')));
  });
});

describe('--runtime ric when the runtime cannot start', () => {
  it('an invocation fails with Runtime.ExitError instead of waiting forever', async () => {
    // Prepare: a Node binary that does not exist.
    const tools = await ensureRuntimeTools();
    const host = runtimeHost({
      functions: [fixture('fixture')],
      tools: { ...tools, node: '/nonexistent/node' },
      maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
    });
    try {
      // Act
      const { outcome } = await host.invoke({
        functionName: 'fixture',
        requestId: 'r-1',
        payload: '{}',
        event: {},
        wantsLogTail: false,
        waitForCapacity: false,
      });

      // Assess
      expect(outcome.kind).toBe('error');
      expect(JSON.parse(outcome.body)).toEqual({
        errorType: 'Runtime.ExitError',
        errorMessage: 'RequestId: r-1 Error: Runtime failed to start: spawn /nonexistent/node ENOENT',
      });
      expect(host.pool('fixture')?.size).toBe(0);
    } finally {
      await host.close();
    }
  });
});
