/**
 * Runs one invocation of a registered function the way the Lambda service and the Node.js runtime
 * report it: a JSON result, or a function error with the runtime's error object. Nothing here
 * throws: every failure of the handler becomes an outcome.
 */
import { createLambdaContext, type LambdaHandler } from '../invoke/lambda-context.js';

export interface RegisteredFunction {
  name: string;
  handler: LambdaHandler;
  timeoutMs: number;
}

/** The runtime's error object, as the body of an `X-Amz-Function-Error: Unhandled` response. */
export interface FunctionErrorPayload {
  errorType: string;
  errorMessage: string;
  /** The Node.js runtime's name for the stack lines. */
  trace: string[];
  /** The same lines under the name the Python/Java runtimes (and AWS's docs) use. */
  stackTrace: string[];
}

export type InvocationOutcome =
  | { kind: 'success'; body: string }
  | { kind: 'error'; error: FunctionErrorPayload; body: string };

export async function runInvocation(
  fn: RegisteredFunction,
  event: unknown,
  requestId: string,
  maxResponseBytes: number,
): Promise<InvocationOutcome> {
  const context = createLambdaContext({ functionName: fn.name, timeoutMs: fn.timeoutMs, requestId });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), fn.timeoutMs);
  });
  try {
    // Promise.resolve().then() also catches a handler that throws synchronously.
    const run = Promise.resolve().then(() => fn.handler(event, context));
    // On timeout the handler's promise is abandoned (it cannot be stopped in-process); race() keeps a
    // reaction on it, so its later rejection is not an unhandled one.
    const result = await Promise.race([run.then((value) => ({ value })), timedOut]);
    if (result === 'timeout') return failure(timeoutError(requestId, fn.timeoutMs));
    return serializeResult(result.value, maxResponseBytes);
  } catch (error) {
    return failure(formatError(error));
  } finally {
    clearTimeout(timer);
  }
}

function serializeResult(value: unknown, maxResponseBytes: number): InvocationOutcome {
  let body: string;
  try {
    // An async handler resolving to undefined gives `null`, as in AWS.
    body = JSON.stringify(value) ?? 'null';
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return failure(plainError('Runtime.MarshalError', `Unable to marshal response: ${reason}`));
  }
  if (Buffer.byteLength(body, 'utf8') > maxResponseBytes) {
    // AWS still answers 200 here, with a function error rather than an API error.
    return failure(
      plainError(
        'Function.ResponseSizeTooLarge',
        `Response payload size exceeded maximum allowed payload size (${maxResponseBytes} bytes).`,
      ),
    );
  }
  return { kind: 'success', body };
}

function failure(error: FunctionErrorPayload): InvocationOutcome {
  return { kind: 'error', error, body: JSON.stringify(error) };
}

/** As the Node.js runtime formats a rejection: name, message and stack lines, or typeof for non-Errors. */
function formatError(error: unknown): FunctionErrorPayload {
  if (error instanceof Error) {
    const trace = error.stack?.split('\n') ?? [];
    return { errorType: error.name, errorMessage: error.message, trace, stackTrace: trace };
  }
  return plainError(typeof error, String(error));
}

function timeoutError(requestId: string, timeoutMs: number): FunctionErrorPayload {
  const seconds = (timeoutMs / 1000).toFixed(2);
  return plainError('Sandbox.Timedout', `${requestId} Task timed out after ${seconds} seconds`);
}

function plainError(errorType: string, errorMessage: string): FunctionErrorPayload {
  return { errorType, errorMessage, trace: [], stackTrace: [] };
}
