import { describe, expect, it } from 'vitest';
import type { EnvironmentSpec } from '../../../../../bridge/lambda-endpoint/runtime/environment.js';
import {
  exitReason,
  initFailure,
  toOutcome,
} from '../../../../../bridge/lambda-endpoint/runtime/lambda-errors.js';

const spec = { timeoutMs: 3000, maxPayloadBytes: 6291456 } as EnvironmentSpec;

describe("the Invoke API's answer for each way an invocation ends", () => {
  it('a process exit in the words Lambda uses', () => {
    expect(exitReason(1, null)).toBe('Runtime exited with error: exit status 1');
    expect(exitReason(null, 'SIGKILL')).toBe('Runtime exited with error: signal: killed');
    expect(exitReason(null, 'SIGSEGV')).toBe('Runtime exited with error: signal: segmentation fault');
    expect(exitReason(0, null)).toBe('Runtime exited without providing a reason');
  });

  it('a timeout: Sandbox.Timedout naming the request and the timeout to two decimals', () => {
    const outcome = toOutcome('r-1', { kind: 'timeout' }, spec);
    expect(outcome.kind).toBe('error');
    expect(JSON.parse(outcome.body)).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: 'RequestId: r-1 Error: Task timed out after 3.00 seconds',
    });
  });

  it("the runtime's error object is returned exactly as posted", () => {
    const body = '{"errorType":"StageError","errorMessage":"boom","trace":["StageError: boom"]}';
    const outcome = toOutcome('r-1', { kind: 'error', body, errorType: 'StageError' }, spec);
    expect(outcome.body).toBe(body);
    expect(outcome.kind === 'error' && outcome.error.errorType).toBe('StageError');
  });

  it('an unreadable error body falls back to the Lambda-Runtime-Function-Error-Type header', () => {
    const outcome = toOutcome('r-1', { kind: 'error', body: 'not json', errorType: 'Custom.Failure' }, spec);
    expect(JSON.parse(outcome.body)).toMatchObject({ errorType: 'Custom.Failure' });
  });

  it('an init error is the runtime’s own body (Runtime.HandlerNotFound, ...)', () => {
    const body =
      '{"errorType":"Runtime.HandlerNotFound","errorMessage":"index.x is undefined or not exported","trace":[]}';
    expect(initFailure('r-1', { kind: 'init-error', body, errorType: undefined }, spec).body).toBe(body);
  });
});
