/** Reading a bounded request body and writing the Invoke API's responses, over node:http. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LambdaApiError, requestTooLarge } from './api-errors.js';

/** True when the declared Content-Length alone already exceeds the limit. */
export function declaresTooLarge(req: IncomingMessage, limitBytes: number): boolean {
  const declared = Number(req.headers['content-length']);
  return Number.isFinite(declared) && declared > limitBytes;
}

/**
 * Collects the body, failing with a 413 as soon as it passes `limitBytes`. At that point the stream
 * is paused and the rest is never buffered: the connection is closed once the error is sent (see
 * sendApiError), so a client cannot make the endpoint hold more than the limit in memory.
 */
export function readBodyWithin(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  if (declaresTooLarge(req, limitBytes)) return Promise.reject(requestTooLarge(limitBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limitBytes) {
        cleanup();
        req.pause();
        reject(requestTooLarge(limitBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    // A client that goes away mid-body gets neither 'end' nor (always) 'error': settle anyway.
    const onClose = (): void => onError(new Error('request closed before its body was complete'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * How much of a refused request's body is read (and dropped) before the refusal is sent. Closing a
 * socket with unread data in it makes the kernel reset the connection, which can destroy the
 * response before the client reads it (the SDK then reports a TimeoutError, not the 413); a body
 * read to its end leaves the connection clean, and open for the next request.
 */
export const DISCARD_MAX_BYTES = 16 * 1024 * 1024;

/** How long a refused request's body may go without a byte before the refusal is sent anyway. */
export const DISCARD_IDLE_MS = 1_000;

/**
 * Reads the rest of the request's body and drops it, up to `maxBytes` (a body declared larger is
 * not read at all). Resolves when the body ended, the request closed, the bound was passed, or no
 * byte came for `idleMs` (a client that stalls mid-body still gets its answer).
 */
export function discardRest(
  req: IncomingMessage,
  maxBytes = DISCARD_MAX_BYTES,
  idleMs = DISCARD_IDLE_MS,
): Promise<void> {
  if (req.complete || declaresTooLarge(req, maxBytes)) return Promise.resolve();
  return new Promise((resolve) => {
    let discarded = 0;
    let idle = setTimeout(() => done(), idleMs);
    const done = (): void => {
      clearTimeout(idle);
      req.off('data', onData);
      req.off('end', done);
      req.off('close', done);
      req.pause();
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      discarded += chunk.length;
      clearTimeout(idle);
      if (discarded > maxBytes) done();
      else idle = setTimeout(() => done(), idleMs);
    };
    req.on('data', onData);
    req.on('end', done);
    req.on('close', done);
    req.resume();
  });
}

export function sendApiError(res: ServerResponse, error: LambdaApiError): void {
  const headers: Record<string, string> = { ...error.headers, 'x-amzn-ErrorType': error.errorType };
  if (error.statusCode === 405) headers.Allow = 'POST';
  // Rejected before its body was read (413, unknown function, ...): the rest of the body is still on
  // the socket. `Connection: close` makes node destroy the socket once the response is flushed,
  // instead of reading the whole body (however large) to reuse the connection.
  if (!res.req.complete) res.shouldKeepAlive = false;
  send(res, error.statusCode, error.toBody(), headers);
}

/** Writes a complete response with an explicit length; `body` is JSON text or empty. */
export function send(
  res: ServerResponse,
  statusCode: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(statusCode, {
    ...(bytes.length > 0 ? { 'Content-Type': 'application/json' } : {}),
    'Content-Length': String(bytes.length),
    ...headers,
  });
  res.end(bytes);
}
