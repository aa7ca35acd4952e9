/**
 * A local, Lambda-compatible Invoke endpoint: the bridge's LambdaClient points at it on one machine
 * and invokes the stage functions in this process, unchanged from how it invokes them in AWS.
 * Only the Invoke operation (POST /2015-03-31/functions/{FunctionName}/invocations) is served.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LambdaHandler } from '../lambda/context.js';
import {
  functionNotFound,
  invalidRequestContent,
  LambdaApiError,
  requestTooLarge,
  serviceError,
} from './api-errors.js';
import { type AsyncInvokeFailure, AsyncQueue } from './async-queue.js';
import { declaresTooLarge, readBodyWithin, send, sendApiError } from './http-io.js';
import { type RegisteredFunction, runInvocation } from './invocation.js';
import { parseInvocationType, routeInvoke } from './routing.js';

export type { AsyncInvokeFailure } from './async-queue.js';

export interface LambdaEndpointOptions {
  functions: ReadonlyArray<{ name: string; handler: LambdaHandler; timeoutMs: number }>;
  /** Default 127.0.0.1: the endpoint runs code on request and has no authentication. */
  host?: string;
  /** Default 3001; 0 picks a free port. */
  port?: number;
  /** Request and response payload limit; AWS's synchronous limit, 6 MiB, by default. */
  maxPayloadBytes?: number;
  /** Retries of a failed Event invocation; AWS's default is 2. */
  asyncRetries?: number;
  /** Delay before retry n is n × this (AWS: 1 then 2 minutes). Default 1000 ms. */
  asyncRetryDelayMs?: number;
  /** Where an Event invocation goes once all its attempts failed (AWS: the on-failure destination). */
  onAsyncFailure?: (failure: AsyncInvokeFailure) => Promise<void>;
  /** Structured log sink; default: one JSON line per entry on stderr. */
  log?: (entry: Record<string, unknown>) => void;
}

export interface LambdaEndpoint {
  url: string;
  port: number;
  /** Stops accepting requests; Event invocations waiting for a retry are dropped (and logged). */
  close(): Promise<void>;
  /** Resolves when no async (Event) invocation is queued or running. */
  idle(): Promise<void>;
}

export const DEFAULT_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export async function startLambdaEndpoint(options: LambdaEndpointOptions): Promise<LambdaEndpoint> {
  const host = options.host ?? '127.0.0.1';
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const sink = options.log ?? ((entry) => process.stderr.write(`${JSON.stringify(entry)}\n`));
  // A failing log sink must not turn a served invocation into a failed one.
  const log = (entry: Record<string, unknown>): void => {
    try {
      sink(entry);
    } catch {
      // nothing sensible to do: the sink was the place to report it
    }
  };
  const registry = buildRegistry(options.functions);

  const queue = new AsyncQueue({
    retries: options.asyncRetries ?? 2,
    retryDelayMs: options.asyncRetryDelayMs ?? 1000,
    run: (job) => runInvocation(job.fn, job.event, job.requestId, maxPayloadBytes),
    onFailure:
      options.onAsyncFailure ??
      (async (failure) =>
        log({ level: 'error', msg: 'async invocation failed after all retries', ...failure })),
    log,
  });

  let closing = false;
  /** Responses in progress: on close they are told to end their connection instead of keeping it. */
  const inFlight = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    if (closing) res.shouldKeepAlive = false;
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    handleRequest(req, res).catch((error: unknown) => {
      log({ level: 'error', msg: 'request handling failed', error: String(error) });
      sendApiError(res, serviceError());
    });
  });
  // A request Node's HTTP parser cannot read (bad framing, oversized headers, not HTTP at all) still
  // gets AWS's error shape, not Node's bare 400, and its connection is closed.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify({
      Type: 'User',
      message: tooLarge ? 'Request headers too large' : 'Could not parse the request',
    });
    socket.end(
      `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
        `x-amzn-ErrorType: ${tooLarge ? 'RequestHeaderFieldsTooLarge' : 'InvalidRequestContentException'}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  // A client that sends `Expect: 100-continue` with an oversized Content-Length is refused before it
  // sends the body at all.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (declaresTooLarge(req, maxPayloadBytes)) {
      sendApiError(res, requestTooLarge(maxPayloadBytes));
      return;
    }
    res.writeContinue();
    server.emit('request', req, res);
  });

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    res.setHeader('x-amzn-RequestId', requestId);
    try {
      const route = routeInvoke(req.method, req.url);
      const invocationType = parseInvocationType(req.headers['x-amz-invocation-type']);
      if (declaresTooLarge(req, maxPayloadBytes)) throw requestTooLarge(maxPayloadBytes);
      const fn = registry.get(route.functionName);
      if (!fn) throw functionNotFound(route.functionName);
      const payload = (await readBodyWithin(req, maxPayloadBytes)).toString('utf8');
      const event = parsePayload(payload);
      const entry = { functionName: fn.name, requestId, invocationType };

      if (invocationType === 'DryRun') {
        send(res, 204, '');
      } else if (invocationType === 'Event') {
        queue.enqueue({ fn, requestId, payload, event });
        send(res, 202, '');
        log({ level: 'info', msg: 'invocation queued', ...entry });
      } else {
        const started = Date.now();
        const outcome = await runInvocation(fn, event, requestId, maxPayloadBytes);
        const headers: Record<string, string> = { 'X-Amz-Executed-Version': '$LATEST' };
        if (outcome.kind === 'error') headers['X-Amz-Function-Error'] = 'Unhandled';
        send(res, 200, outcome.body, headers);
        const errorType = outcome.kind === 'error' ? outcome.error.errorType : undefined;
        log({ level: 'info', msg: 'invocation done', ...entry, durationMs: Date.now() - started, errorType });
      }
    } catch (error) {
      if (!(error instanceof LambdaApiError)) throw error;
      sendApiError(res, error);
      log({
        level: 'info',
        msg: 'invoke rejected',
        requestId,
        errorType: error.errorType,
        status: error.statusCode,
      });
    }
  }

  const port = await listen(server, options.port ?? 3001, host);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    idle: () => queue.idle(),
    async close() {
      closing = true;
      for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
      const closed = new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
      server.closeIdleConnections();
      await Promise.all([closed, queue.close()]);
    },
  };
}

function buildRegistry(functions: LambdaEndpointOptions['functions']): Map<string, RegisteredFunction> {
  // A Map, not an object: a name like `__proto__` or `constructor` must not reach a prototype.
  const registry = new Map<string, RegisteredFunction>();
  for (const { name, handler, timeoutMs } of functions) {
    if (!FUNCTION_NAME.test(name)) throw new Error(`invalid Lambda function name: ${JSON.stringify(name)}`);
    if (registry.has(name)) throw new Error(`function ${name} is registered twice`);
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new Error(`function ${name}: timeoutMs must be positive`);
    registry.set(name, { name, handler, timeoutMs });
  }
  return registry;
}

/** AWS passes `{}` to the function when the caller sent no payload at all. */
function parsePayload(text: string): unknown {
  if (text.length === 0) return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidRequestContent(error instanceof Error ? error.message : String(error));
  }
}

function listen(server: ReturnType<typeof createServer>, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
