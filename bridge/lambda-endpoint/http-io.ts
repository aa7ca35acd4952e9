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
