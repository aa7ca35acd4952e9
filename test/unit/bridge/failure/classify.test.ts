import { ResourceNotFoundException, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { BrokenCircuitError } from 'cockatiel';
import {
  castGrpcErrorMessage,
  EtcdPermissionDeniedError,
  GRPCDeadlineExceededError,
  GRPCInvalidArgumentError,
  GRPCResourceExhastedError,
  GRPCUnavailableError,
} from 'etcd3';
import { describe, expect, it } from 'vitest';
import {
  CommitRejectedError,
  ConfigError,
  InvokeError,
  LeadershipLostError,
} from '../../../../bridge/errors.js';
import {
  classify,
  classifyRecordFailure,
  FAILURE_REASONS,
  isPressure,
} from '../../../../bridge/failure/classify.js';
import { RecordValidationError } from '../../../../shared/index.js';

const exhausted = (text: string) => new GRPCResourceExhastedError(`8 RESOURCE_EXHAUSTED: ${text}`);

describe('classify: etcd', () => {
  it.each([
    ['etcdserver: mvcc: database space exceeded', 'etcd-no-space'],
    ['etcdserver: too many requests', 'etcd-too-many-requests'],
    ['something else ran out', 'etcd-resource-exhausted'],
  ])('RESOURCE_EXHAUSTED %s is pressure: retry (%s), never the record', (text, reason) => {
    const classification = classify(exhausted(text));
    expect(classification).toEqual({ verdict: 'retry', reason });
    expect(isPressure(classification)).toBe(true);
  });

  it('a request too large is terminal, whichever way etcd or gRPC says it', () => {
    expect(classify(exhausted('Received message larger than max (2000000 vs. 1572864)'))).toEqual({
      verdict: 'terminal',
      reason: 'etcd-request-too-large',
    });
    expect(
      classify(new GRPCInvalidArgumentError('3 INVALID_ARGUMENT: etcdserver: request is too large')),
    ).toEqual({
      verdict: 'terminal',
      reason: 'etcd-request-too-large',
    });
    // What etcd 3.4 answers a call without a user once auth is on (seen from a real etcd): the
    // bridge's configuration, not the request, so it stops rather than dead-lettering records.
    expect(
      classify(new GRPCInvalidArgumentError('3 INVALID_ARGUMENT: etcdserver: user name is empty')),
    ).toEqual({ verdict: 'fatal', reason: 'etcd-auth' });
    const tooMany = new GRPCInvalidArgumentError('etcdserver: too many operations in txn request');
    expect(classify(tooMany)).toEqual({ verdict: 'terminal', reason: 'etcd-request-rejected' });
    expect(isPressure(classify(tooMany))).toBe(false);
  });

  it('unavailable, deadline and an open circuit breaker are retried; bad credentials stop', () => {
    expect(classify(new GRPCUnavailableError('14 UNAVAILABLE: Connection dropped')).reason).toBe(
      'etcd-unavailable',
    );
    expect(classify(new GRPCDeadlineExceededError('deadline')).verdict).toBe('retry');
    expect(classify(new BrokenCircuitError())).toEqual({ verdict: 'retry', reason: 'etcd-unavailable' });
    expect(classify(new EtcdPermissionDeniedError('etcdserver: permission denied'))).toEqual({
      verdict: 'fatal',
      reason: 'etcd-auth',
    });
  });

  it('an expired auth token is retried (log in again); a refused password stops', () => {
    expect(classify(castGrpcErrorMessage('etcdserver: invalid auth token'))).toEqual({
      verdict: 'retry',
      reason: 'etcd-auth-token-expired',
    });
    expect(
      classify(castGrpcErrorMessage('etcdserver: authentication failed, invalid user ID or password')),
    ).toEqual({ verdict: 'fatal', reason: 'etcd-auth' });
  });
});

describe('classify: the bridge and the function', () => {
  it('leadership lost and a wrong configuration are fatal', () => {
    expect(classify(new LeadershipLostError('gone')).verdict).toBe('fatal');
    expect(classify(new ConfigError('bad')).verdict).toBe('fatal');
  });

  it("a rejected commit is terminal, with its cause's reason", () => {
    const cause = new GRPCInvalidArgumentError('etcdserver: request is too large');
    expect(classify(new CommitRejectedError('refused', { cause }))).toEqual({
      verdict: 'terminal',
      reason: 'etcd-request-too-large',
    });
    // Even if etcd's words were unexpected, the committer already found this record at fault.
    expect(classify(new CommitRejectedError('refused')).verdict).toBe('terminal');
  });

  it('a transform error is terminal: its `retryable` says so', () => {
    expect(classify(new RecordValidationError('/k', 'value', 'not JSON'))).toEqual({
      verdict: 'terminal',
      reason: 'bad-record',
    });
  });

  it.each([
    ['Unhandled', 'function-error'],
    ['Handled', 'function-error'],
    ['Sandbox.Timedout', 'timeout'],
    ['InvalidResponse', 'invalid-response'],
    ['ResourceNotFoundException', 'function-not-found'],
  ])('an invocation that failed as %s is retried (%s)', (kind, reason) => {
    expect(classify(new InvokeError('failed', kind))).toEqual({ verdict: 'retry', reason });
  });

  it("an SDK failure is classified by the SDK's exception class and $fault / $retryable", () => {
    const throttled = new TooManyRequestsException({ message: 'Rate exceeded', $metadata: {} });
    expect(classify(new InvokeError('x', throttled.name, { cause: throttled })).reason).toBe('aws-throttled');
    const missing = new ResourceNotFoundException({ message: 'Function not found', $metadata: {} });
    expect(classify(new InvokeError('x', missing.name, { cause: missing })).reason).toBe(
      'function-not-found',
    );
    const clientFault = Object.assign(new Error('bad parameter'), {
      name: 'InvalidParameterValueException',
      $fault: 'client',
    });
    expect(classify(new InvokeError('x', clientFault.name, { cause: clientFault }))).toEqual({
      verdict: 'terminal',
      reason: 'aws-rejected',
    });
    const serverFault = Object.assign(new Error('oops'), { name: 'InternalFailure', $fault: 'server' });
    expect(classify(serverFault)).toEqual({ verdict: 'retry', reason: 'aws-unavailable' });
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(classify(reset)).toEqual({ verdict: 'retry', reason: 'network' });
  });

  it('the function verdict on one record: retryable or a bad record', () => {
    expect(classifyRecordFailure(true)).toEqual({ verdict: 'retry', reason: 'record-retryable' });
    expect(classifyRecordFailure(false)).toEqual({ verdict: 'terminal', reason: 'bad-record' });
  });

  it('anything unknown is assumed transient (the retry policy bounds it)', () => {
    expect(classify(new Error('what?'))).toEqual({ verdict: 'retry', reason: 'unknown' });
    expect(classify('a string')).toEqual({ verdict: 'retry', reason: 'unknown' });
  });

  it('every reason has one of the three verdicts (the metric label set)', () => {
    for (const verdict of Object.values(FAILURE_REASONS))
      expect(['retry', 'terminal', 'fatal']).toContain(verdict);
  });
});
