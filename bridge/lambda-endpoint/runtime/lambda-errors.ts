/**
 * What the Invoke API returns for each way an invocation can end in an execution environment, in
 * the words Lambda uses: the runtime's own error object as it posted it, or Lambda's platform
 * errors (Sandbox.Timedout, Runtime.ExitError, Function.ResponseSizeTooLarge) with a type and a
 * message only.
 */
import type { FunctionErrorPayload, InvocationOutcome } from '../invocation.js';
import type { EnvironmentSpec } from './environment.js';

/** How an invocation ended, before it is turned into what the Invoke API returns. */
export type RawOutcome =
  | { kind: 'response'; body: string }
  | { kind: 'error'; body: string; errorType: string | undefined }
  | { kind: 'too-large' }
  | { kind: 'timeout' }
  | { kind: 'exit'; reason: string };

export type InitOutcome =
  | { kind: 'ready' }
  | { kind: 'init-error'; body: string; errorType: string | undefined }
  | { kind: 'timeout' }
  | { kind: 'exit'; reason: string };

export function toOutcome(requestId: string, raw: RawOutcome, spec: EnvironmentSpec): InvocationOutcome {
  switch (raw.kind) {
    case 'response':
      return { kind: 'success', body: raw.body };
    case 'error':
      return runtimeError(raw.body, raw.errorType);
    case 'too-large':
      return platformError(
        'Function.ResponseSizeTooLarge',
        `Response payload size exceeded maximum allowed payload size (${spec.maxPayloadBytes} bytes).`,
      );
    case 'timeout':
      return platformError(
        'Sandbox.Timedout',
        `RequestId: ${requestId} Error: ${timeoutMessage(spec.timeoutMs)}`,
      );
    case 'exit':
      return platformError('Runtime.ExitError', `RequestId: ${requestId} Error: ${raw.reason}`);
  }
}

export function initFailure(
  requestId: string,
  init: Exclude<InitOutcome, { kind: 'ready' }>,
  spec: EnvironmentSpec,
): InvocationOutcome {
  switch (init.kind) {
    case 'init-error':
      return runtimeError(init.body, init.errorType);
    case 'timeout':
      return platformError(
        'Sandbox.Timedout',
        `RequestId: ${requestId} Error: ${timeoutMessage(spec.initTimeoutMs ?? 10_000)}`,
      );
    case 'exit':
      return platformError('Runtime.ExitError', `RequestId: ${requestId} Error: ${init.reason}`);
  }
}

export function timeoutMessage(timeoutMs: number): string {
  return `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`;
}

/** The error object the runtime posted is what Invoke returns, as is; a broken one is replaced. */
function runtimeError(body: string, headerType: string | undefined): InvocationOutcome {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const fields = parsed as Record<string, unknown>;
    const errorType = typeof fields.errorType === 'string' ? fields.errorType : (headerType ?? 'Unhandled');
    const errorMessage = typeof fields.errorMessage === 'string' ? fields.errorMessage : '';
    const trace = Array.isArray(fields.trace) ? fields.trace.map(String) : [];
    return { kind: 'error', error: { errorType, errorMessage, trace, stackTrace: trace }, body };
  }
  return platformError(
    headerType ?? 'Runtime.Unknown',
    'The runtime reported an error without a readable body',
  );
}

/** Errors Lambda itself reports carry only a type and a message. */
function platformError(errorType: string, errorMessage: string): InvocationOutcome {
  const error: FunctionErrorPayload = { errorType, errorMessage, trace: [], stackTrace: [] };
  return { kind: 'error', error, body: JSON.stringify({ errorType, errorMessage }) };
}

/** As Lambda words it (Go's exec.ExitError): `exit status 1`, `signal: killed`. */
export function exitReason(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal !== null) return `Runtime exited with error: signal: ${SIGNAL_WORDS[signal] ?? signal}`;
  if (code === 0 || code === null) return 'Runtime exited without providing a reason';
  return `Runtime exited with error: exit status ${code}`;
}

const SIGNAL_WORDS: Partial<Record<NodeJS.Signals, string>> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGSEGV: 'segmentation fault',
  SIGABRT: 'aborted',
  SIGINT: 'interrupt',
};
