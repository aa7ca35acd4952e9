/**
 * The local Lambda endpoint, driven by the real @aws-sdk/client-lambda: whatever the SDK accepts
 * here (headers, status codes, error names) is what the bridge will see from it.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvokeCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLambdaContext, type LambdaHandler } from '../../bridge/invoke/lambda-context.js';
import {
  type AsyncInvokeFailure,
  type LambdaEndpoint,
  startLambdaEndpoint,
} from '../../bridge/lambda-endpoint/server.js';

const SIX_MB = 6 * 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

class StageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StageError';
  }
}

/** Every call any test handler received, to assert on what ran (and with which context). */
const calls: Array<{ fn: string; event: unknown; context: Context }> = [];
const failures: AsyncInvokeFailure[] = [];

function recorded(fn: string, body: (event: unknown, context: Context) => Promise<unknown>): LambdaHandler {
  return async (event, context) => {
    calls.push({ fn, event, context });
    return body(event, context);
  };
}

const functions = [
  {
    name: 'echo',
    timeoutMs: 3_000,
    handler: recorded('echo', async (event, context) => ({
      event,
      requestId: context.awsRequestId,
      functionName: context.functionName,
      invokedFunctionArn: context.invokedFunctionArn,
      remainingMs: context.getRemainingTimeInMillis(),
    })),
  },
  {
    name: 'throws',
    timeoutMs: 3_000,
    handler: recorded('throws', async () => {
      throw new StageError('stage exploded');
    }),
  },
  { name: 'slow', timeoutMs: 200, handler: recorded('slow', () => sleep(5_000).then(() => 'late')) },
  { name: 'big', timeoutMs: 3_000, handler: recorded('big', async () => 'x'.repeat(SIX_MB + 1)) },
];

let endpoint: LambdaEndpoint;
let client: LambdaClient;

beforeAll(async () => {
  endpoint = await startLambdaEndpoint({
    functions,
    port: 0,
    asyncRetryDelayMs: 10,
    onAsyncFailure: async (failure) => {
      failures.push(failure);
    },
    log: () => {},
  });
  client = new LambdaClient({
    endpoint: endpoint.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    // A retried 5xx or a reset connection must show, not be papered over.
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client.destroy();
  await endpoint.close();
});

beforeEach(() => {
  calls.length = 0;
  failures.length = 0;
});

function invoke(input: ConstructorParameters<typeof InvokeCommand>[0]) {
  return client.send(new InvokeCommand(input));
}

function jsonPayload(payload: Uint8Array | undefined): unknown {
  return JSON.parse(Buffer.from(payload ?? new Uint8Array()).toString('utf8'));
}

/** The error the SDK throws, for asserting on its name, message and HTTP status. */
async function invokeError(input: ConstructorParameters<typeof InvokeCommand>[0]) {
  const error: unknown = await invoke(input).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error('expected the invocation to be rejected');
  const status = (error as Error & { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return { error, status };
}

/** A raw HTTP exchange, for what the SDK would never send (wrong method, unencoded paths). */
function rawRequest(method: string, path: string, body = '') {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      // `path` as an option, not inside a URL string, which node would normalise (`..` resolved).
      const req = request({ host: '127.0.0.1', port: endpoint.port, method, path }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    },
  );
}

describe('RequestResponse', () => {
  it('round-trips the JSON payload through the handler with a full context', async () => {
    const out = await invoke({
      FunctionName: 'echo',
      Payload: Buffer.from(JSON.stringify({ key: 'a', n: 1 })),
    });

    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBeUndefined();
    expect(out.ExecutedVersion).toBe('$LATEST');
    const body = jsonPayload(out.Payload) as Record<string, unknown>;
    expect(body.event).toEqual({ key: 'a', n: 1 });
    expect(body.requestId).toMatch(UUID);
    expect(body.requestId).toBe(out.$metadata.requestId);
    expect(body.functionName).toBe('echo');
    expect(body.invokedFunctionArn).toBe('arn:aws:lambda:local:000000000000:function:echo');
    expect(body.remainingMs).toBeGreaterThan(2_000);
    expect(body.remainingMs).toBeLessThanOrEqual(3_000);
  });

  it('passes {} when no payload is sent, as AWS does', async () => {
    const out = await invoke({ FunctionName: 'echo' });
    expect((jsonPayload(out.Payload) as { event: unknown }).event).toEqual({});
  });

  it.each([
    'arn:aws:lambda:local:000000000000:function:echo',
    'arn:aws:lambda:us-east-1:123456789012:function:echo:live',
    '123456789012:function:echo',
    'echo:$LATEST',
  ])('resolves the function name from %s', async (functionName) => {
    const out = await invoke({ FunctionName: functionName, Payload: Buffer.from('1') });
    expect(out.StatusCode).toBe(200);
    expect(calls.map((c) => c.fn)).toEqual(['echo']);
  });

  it('accepts ?Qualifier= and rejects one that contradicts the name', async () => {
    expect((await invoke({ FunctionName: 'echo', Qualifier: 'live' })).StatusCode).toBe(200);
    const { error, status } = await invokeError({ FunctionName: 'echo:blue', Qualifier: 'green' });
    expect(status).toBe(400);
    expect(error.name).toBe('InvalidParameterValueException');
  });

  it('reports a thrown error as an Unhandled function error with the runtime error object', async () => {
    const out = await invoke({ FunctionName: 'throws', Payload: Buffer.from('{}') });

    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    const body = jsonPayload(out.Payload) as Record<string, unknown>;
    expect(body.errorType).toBe('StageError');
    expect(body.errorMessage).toBe('stage exploded');
    expect(Array.isArray(body.stackTrace)).toBe(true);
    expect((body.stackTrace as string[])[0]).toBe('StageError: stage exploded');
    expect(body.trace).toEqual(body.stackTrace);
  });

  it('times a slow handler out with Sandbox.Timedout, without waiting for it', async () => {
    const started = Date.now();
    const out = await invoke({ FunctionName: 'slow' });

    expect(Date.now() - started).toBeLessThan(2_000);
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    expect(jsonPayload(out.Payload)).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: `${out.$metadata.requestId} Task timed out after 0.20 seconds`,
      trace: [],
      stackTrace: [],
    });
  });

  it('turns a response above 6 MB into Function.ResponseSizeTooLarge, still with status 200', async () => {
    const out = await invoke({ FunctionName: 'big' });

    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    const body = jsonPayload(out.Payload) as Record<string, unknown>;
    expect(body.errorType).toBe('Function.ResponseSizeTooLarge');
    expect(body.errorMessage).toContain(`(${SIX_MB} bytes)`);
  });
});

describe('Event', () => {
  it('queues the invocation (202) and runs it once in the background when it succeeds', async () => {
    const out = await invoke({
      FunctionName: 'echo',
      InvocationType: 'Event',
      Payload: Buffer.from('{"a":1}'),
    });

    expect(out.StatusCode).toBe(202);
    expect(out.Payload?.length ?? 0).toBe(0);
    await endpoint.idle();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.event).toEqual({ a: 1 });
    expect(calls[0]?.context.awsRequestId).toBe(out.$metadata.requestId);
    expect(failures).toEqual([]);
  });

  it('retries a failing invocation twice, then hands it to onAsyncFailure with 3 attempts', async () => {
    const payload = '{"key":"/heat/stacks/1"}';
    const out = await invoke({
      FunctionName: 'throws',
      InvocationType: 'Event',
      Payload: Buffer.from(payload),
    });

    expect(out.StatusCode).toBe(202);
    await endpoint.idle();
    expect(calls).toHaveLength(3);
    // AWS keeps the request id across retries, so idempotency keyed on it sees one invocation.
    expect(new Set(calls.map((c) => c.context.awsRequestId))).toEqual(new Set([out.$metadata.requestId]));
    expect(failures).toHaveLength(1);
    const failure = failures[0]!;
    expect(failure).toMatchObject({
      functionName: 'throws',
      requestId: out.$metadata.requestId,
      payload,
      error: { errorType: 'StageError', errorMessage: 'stage exploded' },
      attempts: 3,
    });
    expect(new Date(failure.firstAttemptAt).toISOString()).toBe(failure.firstAttemptAt);
    expect(Date.parse(failure.lastAttemptAt)).toBeGreaterThan(Date.parse(failure.firstAttemptAt));
  });

  it('treats a timeout as a failed attempt', async () => {
    await invoke({ FunctionName: 'slow', InvocationType: 'Event' });
    await endpoint.idle();
    expect(calls).toHaveLength(3);
    expect(failures[0]?.error.errorType).toBe('Sandbox.Timedout');
  });
});

describe('DryRun', () => {
  it('answers 204 without running the handler', async () => {
    const out = await invoke({ FunctionName: 'echo', InvocationType: 'DryRun' });
    expect(out.StatusCode).toBe(204);
    expect(calls).toEqual([]);
  });
});

describe('API errors', () => {
  it('rejects an unknown function with ResourceNotFoundException (404)', async () => {
    const { error, status } = await invokeError({ FunctionName: 'nope', Payload: Buffer.from('{}') });
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error.name).toBe('ResourceNotFoundException');
    expect(error.message).toBe('Function not found: arn:aws:lambda:local:000000000000:function:nope');
    expect(status).toBe(404);
  });

  it.each(['../../etc/passwd', '..%2F..%2Fecho', 'echo/../echo', 'ec%2Fho', 'constructor', '__proto__'])(
    'treats the function name %s as just not found',
    async (functionName) => {
      const { error, status } = await invokeError({ FunctionName: functionName });
      expect(error.name).toBe('ResourceNotFoundException');
      expect(status).toBe(404);
      expect(calls).toEqual([]);
    },
  );

  it('does not route an unencoded traversal in the raw path', async () => {
    for (const path of [
      '/2015-03-31/functions/../../etc/passwd/invocations',
      // Would name echo if dot segments were resolved: they are not, the path is matched as sent.
      '/2015-03-31/functions/nope/../echo/invocations',
      '/2015-03-31/functions/nope/%2e%2e/echo/invocations',
    ]) {
      const res = await rawRequest('POST', path, '{}');
      expect(res.status).toBe(404);
      expect(res.headers['x-amzn-errortype']).toBe('UnknownOperationException');
    }
    expect(calls).toEqual([]);
    const encoded = await rawRequest(
      'POST',
      '/2015-03-31/functions/..%2F..%2Fetc%2Fpasswd/invocations',
      '{}',
    );
    expect(encoded.status).toBe(404);
    expect(encoded.headers['x-amzn-errortype']).toBe('ResourceNotFoundException');
    expect(JSON.parse(encoded.body)).toEqual({
      Type: 'User',
      message: 'Function not found: ../../etc/passwd',
    });
  });

  it('rejects a payload above 6 MB with RequestEntityTooLargeException (413)', async () => {
    const payload = Buffer.from(JSON.stringify('y'.repeat(SIX_MB)));
    const { error, status } = await invokeError({ FunctionName: 'echo', Payload: payload });
    expect(error.name).toBe('RequestEntityTooLargeException');
    expect(error.message).toBe(
      `Request must be smaller than ${SIX_MB} bytes for the InvokeFunction operation`,
    );
    expect(status).toBe(413);
    expect(calls).toEqual([]);
  });

  it('rejects an Event payload above 1 MB (the asynchronous limit) and takes one just under it', async () => {
    const ONE_MB = 1024 * 1024;
    const over = Buffer.from(JSON.stringify('y'.repeat(ONE_MB)));
    const { error, status } = await invokeError({
      FunctionName: 'echo',
      InvocationType: 'Event',
      Payload: over,
    });
    expect(error.name).toBe('RequestEntityTooLargeException');
    expect(error.message).toBe(
      `Request must be smaller than ${ONE_MB} bytes for the InvokeFunction operation`,
    );
    expect(status).toBe(413);
    const under = await invoke({
      FunctionName: 'echo',
      InvocationType: 'Event',
      Payload: Buffer.from(JSON.stringify('y'.repeat(ONE_MB - 100))),
    });
    expect(under.StatusCode).toBe(202);
    await endpoint.idle();
    expect(calls).toHaveLength(1);
  });

  it('answers 413 to a chunked body as soon as it passes the limit, without reading the rest', async () => {
    // The body is never ended: had the endpoint waited for all of it, no response would come.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${endpoint.url}/2015-03-31/functions/echo/invocations`, {
        method: 'POST',
        headers: { 'Transfer-Encoding': 'chunked' },
      });
      req.on('response', (res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
        req.destroy();
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error);
      });
      req.write(Buffer.alloc(SIX_MB + 64 * 1024, 0x20));
    });
    expect(status).toBe(413);
  });

  it('rejects a body that is not JSON with InvalidRequestContentException (400)', async () => {
    const { error, status } = await invokeError({ FunctionName: 'echo', Payload: Buffer.from('{"a":') });
    expect(error.name).toBe('InvalidRequestContentException');
    expect(error.message).toMatch(/^Could not parse request body into json/);
    expect(status).toBe(400);
    expect(calls).toEqual([]);
  });

  it('rejects an unknown invocation type with ValidationException', async () => {
    const res = await rawRequest('POST', '/2015-03-31/functions/echo/invocations', '{}');
    expect(res.status).toBe(200);
    const bad = await new Promise<number>((resolve, reject) => {
      const req = request(`${endpoint.url}/2015-03-31/functions/echo/invocations`, {
        method: 'POST',
        headers: { 'X-Amz-Invocation-Type': 'Sometimes' },
      });
      req.on('response', (r) => {
        resolve(r.statusCode ?? 0);
        r.resume();
      });
      req.on('error', reject);
      req.end('{}');
    });
    expect(bad).toBe(400);
  });

  it('answers an unsupported method with 405 and an unknown path with 404, in AWS error shape', async () => {
    const wrongMethod = await rawRequest('GET', '/2015-03-31/functions/echo/invocations');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers['x-amzn-errortype']).toBe('UnknownOperationException');
    expect(wrongMethod.headers.allow).toBe('POST');
    expect(JSON.parse(wrongMethod.body)).toMatchObject({ Type: 'User', message: expect.any(String) });

    const unknownPath = await rawRequest('POST', '/2015-03-31/functions/echo/configuration', '{}');
    expect(unknownPath.status).toBe(404);
    expect(unknownPath.headers['x-amzn-errortype']).toBe('UnknownOperationException');
    expect(unknownPath.headers['x-amzn-requestid']).toMatch(UUID);
  });
});

describe('binding', () => {
  it('listens on 127.0.0.1 only by default', async () => {
    expect(endpoint.url).toBe(`http://127.0.0.1:${endpoint.port}`);
    // 127.0.0.2 is loopback too: it answers only if the server were bound to every address.
    const refused = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.2', port: endpoint.port });
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('closes with a retry still pending, dropping it instead of waiting', async () => {
    const logs: Array<Record<string, unknown>> = [];
    const local = await startLambdaEndpoint({
      functions,
      port: 0,
      asyncRetryDelayMs: 60_000,
      onAsyncFailure: async (failure) => {
        failures.push(failure);
      },
      log: (entry) => logs.push(entry),
    });
    const localClient = new LambdaClient({
      endpoint: local.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    await localClient.send(new InvokeCommand({ FunctionName: 'throws', InvocationType: 'Event' }));
    while (calls.length === 0) await sleep(5);
    localClient.destroy();
    const started = Date.now();
    await local.close();

    expect(Date.now() - started).toBeLessThan(2_000);
    expect(calls).toHaveLength(1);
    expect(failures).toEqual([]);
    expect(logs.some((entry) => entry.msg === 'async invocation dropped at shutdown')).toBe(true);
  });
});

describe('createLambdaContext', () => {
  it('builds a complete context whose remaining time counts down', async () => {
    const context = createLambdaContext({ functionName: 'stage-a', timeoutMs: 1_000, memoryLimitInMB: 256 });

    expect(context.awsRequestId).toMatch(UUID);
    expect(context.functionVersion).toBe('$LATEST');
    expect(context.memoryLimitInMB).toBe('256');
    expect(context.logGroupName).toBe('/aws/lambda/stage-a');
    expect(context.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    const first = context.getRemainingTimeInMillis();
    expect(first).toBeLessThanOrEqual(1_000);
    await sleep(50);
    expect(context.getRemainingTimeInMillis()).toBeLessThan(first);
    expect(() => context.succeed('x')).toThrow(/not supported/);
    expect(createLambdaContext({ functionName: 'f', timeoutMs: 1, requestId: 'r-1' }).awsRequestId).toBe(
      'r-1',
    );
  });
});
