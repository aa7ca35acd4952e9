/**
 * A local, Lambda-compatible Invoke endpoint: the bridge's LambdaClient points at it on one machine
 * and invokes the stage functions in this process, unchanged from how it invokes them in AWS.
 * Only the Invoke operation (POST /2015-03-31/functions/{FunctionName}/invocations) is served.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LambdaHandler } from '../invoke/lambda-context.js';
import { createServer } from '../node-http.js';
import {
  functionNotFound,
  invalidRequestContent,
  LambdaApiError,
  requestTooLarge,
  serviceError,
} from './api-errors.js';
import { type AsyncInvokeFailure, AsyncQueue } from './async-queue.js';
import { type FunctionHost, inProcessHost } from './function-host.js';
import { declaresTooLarge, discardRest, readBodyWithin, send, sendApiError } from './http-io.js';
import { parseInvocationType, parseLogType, routeInvoke } from './routing.js';

export type { AsyncInvokeFailure } from './async-queue.js';

export interface LambdaEndpointOptions {
  /** Handlers run in this process (the default host); ignored when `functionHost` is given. */
  functions?: ReadonlyArray<{ name: string; handler: LambdaHandler; timeoutMs: number }>;
  /** What runs the functions, e.g. execution environments under aws-lambda-ric (`--runtime ric`). */
  functionHost?: FunctionHost;
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
  /** Stops accepting requests; Event invocations waiting for a retry or an environment are dropped (and logged). */
  close(): Promise<void>;
  /** Resolves when no async (Event) invocation is queued or running. */
  idle(): Promise<void>;
}

export const DEFAULT_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** AWS takes at most 1 MB for an asynchronous (Event) invocation, 6 MB for a synchronous one. */
export const EVENT_MAX_PAYLOAD_BYTES = 1024 * 1024;

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
  if (!options.functionHost && !options.functions)
    throw new Error('startLambdaEndpoint needs functions or a functionHost');
  const functionHost = options.functionHost ?? inProcessHost(options.functions ?? [], maxPayloadBytes);

  const queue = new AsyncQueue({
    retries: options.asyncRetries ?? 2,
    retryDelayMs: options.asyncRetryDelayMs ?? 1000,
    run: async (job, signal) =>
      (
        await functionHost.invoke({
          functionName: job.functionName,
          requestId: job.requestId,
          payload: job.payload,
          event: job.event,
          wantsLogTail: false,
          waitForCapacity: true,
          signal,
        })
      ).outcome,
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
      const logType = parseLogType(req.headers['x-amz-log-type']);
      const limit =
        invocationType === 'Event' ? Math.min(maxPayloadBytes, EVENT_MAX_PAYLOAD_BYTES) : maxPayloadBytes;
      if (declaresTooLarge(req, limit)) throw requestTooLarge(limit);
      const functionName = route.functionName;
      if (!functionHost.has(functionName)) throw functionNotFound(functionName);
      const received = (await readBodyWithin(req, limit)).toString('utf8');
      const event = parsePayload(received);
      // AWS hands the function `{}` when the caller sent no payload at all.
      const payload = received.length === 0 ? '{}' : received;
      const entry = { functionName, requestId, invocationType };

      if (invocationType === 'DryRun') {
        send(res, 204, '');
      } else if (invocationType === 'Event') {
        queue.enqueue({ functionName, requestId, payload, event });
        send(res, 202, '');
        log({ level: 'info', msg: 'invocation queued', ...entry });
      } else {
        const started = Date.now();
        const wantsLogTail = logType === 'Tail';
        const { outcome, logTail } = await functionHost.invoke({
          functionName,
          requestId,
          payload,
          event,
          wantsLogTail,
          waitForCapacity: false,
        });
        const headers: Record<string, string> = { 'X-Amz-Executed-Version': '$LATEST' };
        if (outcome.kind === 'error') headers['X-Amz-Function-Error'] = 'Unhandled';
        if (wantsLogTail && logTail !== undefined) headers['X-Amz-Log-Result'] = logTail;
        send(res, 200, outcome.body, headers);
        const errorType = outcome.kind === 'error' ? outcome.error.errorType : undefined;
        log({ level: 'info', msg: 'invocation done', ...entry, durationMs: Date.now() - started, errorType });
      }
    } catch (error) {
      if (!(error instanceof LambdaApiError)) throw error;
      // Refused before its body was read (413, unknown function, ...): read the rest first.
      await discardRest(req);
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
      await functionHost.close();
    },
  };
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
