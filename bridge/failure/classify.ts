/**
 * The one place that says what a failure means, anywhere in the bridge (invoke, snapshot read,
 * commit, dead-letter delivery, redrive, resync, watch, campaign):
 *
 * - `retry`: the same work may succeed later (etcd unavailable, throttled, a function that threw).
 *   The caller waits with `Backoff` and tries again; work that carries a retry policy (a record)
 *   spends an attempt.
 * - `terminal`: the work itself is bad (a record that fails validation, a commit etcd refuses as
 *   too large): retrying gives the same answer, so the record is dead-lettered (or its key blocks).
 * - `fatal`: the bridge cannot go on (leadership lost, wrong configuration or credentials for
 *   etcd): stop, and let the supervisor restart it.
 *
 * The verdict comes from the error's type wherever a library gives one (etcd3's GRPC*Error classes,
 * @aws-sdk's exception classes, `$retryable` and `$fault`, the bridge's own errors, the contract's
 * `retryable`). Only etcd's RESOURCE_EXHAUSTED needs its message read: etcd uses that one code for
 * "out of space", "too many requests" and (through gRPC) "message larger than max", and only the
 * last one is the request's own fault.
 *
 * Each classification has a `reason`: a short, fixed label for metrics and logs.
 */
import { isBrokenCircuitError } from 'cockatiel';
import {
  ClientClosedError,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdLeaseInvalidError,
  EtcdPermissionDeniedError,
  EtcdRoleNotGrantedError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCInvalidArgumentError,
  GRPCOutOfRangeError,
  GRPCResourceExhastedError,
  GRPCUnauthenticatedError,
  GRPCUnavailableError,
  isRecoverableError,
} from 'etcd3';
import { TransformError } from '../../shared/index.js';
import { CommitRejectedError, ConfigError, InvokeError, LeadershipLostError } from '../errors.js';

export type Verdict = 'retry' | 'terminal' | 'fatal';

/** Every reason, with its verdict: the metric label values, known in advance. */
export const FAILURE_REASONS = {
  /** etcd did not answer, or answered "no leader", "leader changed", a dropped connection. */
  'etcd-unavailable': 'retry',
  /** NOSPACE: etcd's backend passed --quota-backend-bytes and the alarm refuses every write. */
  'etcd-no-space': 'retry',
  /** etcd sheds load: "etcdserver: too many requests". */
  'etcd-too-many-requests': 'retry',
  /** Any other RESOURCE_EXHAUSTED: treated as pressure, not as the request's fault. */
  'etcd-resource-exhausted': 'retry',
  /** A read at a revision etcd has compacted away (a resync page, say): read again at the head. */
  'etcd-compacted': 'retry',
  /** A lease etcd no longer knows (a campaign's, after a restart): campaign again. */
  'etcd-lease-not-found': 'retry',
  /** The bridge closed its etcd client (it is stopping); the next leader redoes the work. */
  'etcd-client-closed': 'retry',
  /** etcd refuses the request itself as too large. */
  'etcd-request-too-large': 'terminal',
  /** etcd refuses the request itself otherwise (too many operations, a duplicate key). */
  'etcd-request-rejected': 'terminal',
  /**
   * etcd no longer knows the auth token (simple tokens expire after --auth-token-ttl; a password
   * change drops them): log in again and retry. A password that no longer works is `etcd-auth`.
   */
  'etcd-auth-token-expired': 'retry',
  /** Wrong etcd user, password or permissions: nothing can succeed until the config changes. */
  'etcd-auth': 'fatal',
  'leadership-lost': 'fatal',
  config: 'fatal',
  /** AWS (or the local endpoint) throttles: TooManyRequestsException, $retryable.throttling. */
  'aws-throttled': 'retry',
  /** AWS's side failed or is not ready yet ($fault: server, ResourceNotReady, ENI limits...). */
  'aws-unavailable': 'retry',
  /** The SDK found no credentials (yet): the instance role may still be coming. */
  'aws-credentials': 'retry',
  /** AWS refuses the request as such ($fault: client): bad parameter, payload too large. */
  'aws-rejected': 'terminal',
  /** The function or queue does not exist (yet): wait for the deploy rather than dead-letter all. */
  'function-not-found': 'retry',
  /** The invocation or a network call timed out. */
  timeout: 'retry',
  /** A connection refused or reset, a name that did not resolve. */
  network: 'retry',
  /** The function failed as a whole: Lambda's Unhandled / Handled FunctionError. */
  'function-error': 'retry',
  /** The function's answer breaks the contract. */
  'invalid-response': 'retry',
  /** The function failed one record and said a retry may help. */
  'record-retryable': 'retry',
  /** The record itself is bad: validation, rejected status, not UTF-8, value no longer in etcd. */
  'bad-record': 'terminal',
  /** Nothing above: assumed transient, so the record's retry policy bounds it. */
  unknown: 'retry',
} as const satisfies Record<string, Verdict>;

export type FailureReason = keyof typeof FAILURE_REASONS;

export interface Classification {
  readonly verdict: Verdict;
  readonly reason: FailureReason;
}

/** etcd under pressure: commits pause (and the route says so) instead of failing records. */
const PRESSURE: ReadonlySet<FailureReason> = new Set([
  'etcd-no-space',
  'etcd-too-many-requests',
  'etcd-resource-exhausted',
]);

export function isPressure(classification: Classification): boolean {
  return PRESSURE.has(classification.reason);
}

export function classified(reason: FailureReason): Classification {
  return { verdict: FAILURE_REASONS[reason], reason };
}

export function classify(error: unknown): Classification {
  return (
    classifyBridgeError(error) ?? classifyEtcdError(error) ?? classifyAwsError(error) ?? classified('unknown')
  );
}

/** The function's verdict on one record (`batchItemFailures[].retryable`). */
export function classifyRecordFailure(retryable: boolean): Classification {
  return classified(retryable ? 'record-retryable' : 'bad-record');
}

function classifyBridgeError(error: unknown): Classification | undefined {
  if (error instanceof LeadershipLostError) return classified('leadership-lost');
  if (error instanceof ConfigError) return classified('config');
  if (error instanceof CommitRejectedError) {
    // Terminal whatever its cause said: the committer has already isolated it to this record.
    const cause = classifyEtcdError(error.cause);
    return cause?.verdict === 'terminal' ? cause : classified('etcd-request-rejected');
  }
  if (error instanceof TransformError) return classified(error.retryable ? 'record-retryable' : 'bad-record');
  if (error instanceof InvokeError) return classifyInvokeError(error);
  return undefined;
}

function classifyInvokeError(error: InvokeError): Classification {
  switch (error.kind) {
    case 'Unhandled':
    case 'Handled':
      return classified('function-error');
    case 'Sandbox.Timedout':
      return classified('timeout');
    case 'InvalidResponse':
      return classified('invalid-response');
    case 'ResourceNotFoundException':
      return classified('function-not-found');
  }
  return classifyAwsError(error.cause) ?? classified('unknown');
}

function classifyEtcdError(error: unknown): Classification | undefined {
  if (error instanceof GRPCResourceExhastedError) return classifyResourceExhausted(error.message);
  if (error instanceof GRPCInvalidArgumentError) {
    // etcd with auth on, asked without a user: a configuration the bridge cannot work in, not a
    // request refused as such (that verdict would dead-letter good records one by one).
    if (/user name is empty/.test(error.message)) return classified('etcd-auth');
    return classified(
      /request is too large/.test(error.message) ? 'etcd-request-too-large' : 'etcd-request-rejected',
    );
  }
  if (error instanceof EtcdInvalidAuthTokenError) return classified('etcd-auth-token-expired');
  if (
    error instanceof EtcdAuthenticationFailedError ||
    error instanceof EtcdPermissionDeniedError ||
    error instanceof EtcdRoleNotGrantedError ||
    error instanceof GRPCUnauthenticatedError
  ) {
    return classified('etcd-auth');
  }
  if (error instanceof EtcdLeaseInvalidError) return classified('etcd-lease-not-found');
  if (error instanceof GRPCOutOfRangeError) return classified('etcd-compacted');
  if (error instanceof ClientClosedError) return classified('etcd-client-closed');
  if (
    error instanceof GRPCUnavailableError ||
    error instanceof GRPCDeadlineExceededError ||
    error instanceof GRPCCancelledError ||
    // etcd3's circuit breaker refused the call after a run of failures: etcd is unreachable.
    isBrokenCircuitError(error)
  ) {
    return classified('etcd-unavailable');
  }
  // Any other error etcd3 marks as transient (internal, unknown, aborted).
  if (error instanceof Error && isRecoverableError(error)) return classified('etcd-unavailable');
  return undefined;
}

/** etcd's one code for three things; the text is all that tells them apart. */
function classifyResourceExhausted(message: string): Classification {
  if (/database space exceeded/.test(message)) return classified('etcd-no-space');
  if (/too many requests/.test(message)) return classified('etcd-too-many-requests');
  // gRPC's own size limit ("Received/Sent message larger than max"), on either side.
  if (/larger than max/.test(message)) return classified('etcd-request-too-large');
  return classified('etcd-resource-exhausted');
}

/** The fields @aws-sdk's (smithy's) service exceptions carry. */
interface AwsErrorShape {
  readonly name: string;
  readonly $fault?: 'client' | 'server';
  readonly $retryable?: { readonly throttling?: boolean };
  readonly code?: unknown;
}

/** Lambda exceptions that say "not now" rather than "never". */
const AWS_NOT_READY = new Set([
  'ResourceNotReadyException',
  'ResourceConflictException',
  'EC2ThrottledException',
  'ENILimitReachedException',
  'SnapStartNotReadyException',
]);

function classifyAwsError(error: unknown): Classification | undefined {
  if (!(error instanceof Error)) return undefined;
  const aws = error as Error & AwsErrorShape;
  // Lambda's exceptions by name, not by class: a bridge that invokes in-process never loads the SDK.
  if (aws.name === 'TooManyRequestsException' || aws.$retryable?.throttling)
    return classified('aws-throttled');
  if (aws.name === 'ResourceNotFoundException') return classified('function-not-found');
  if (aws.name === 'ServiceException' || AWS_NOT_READY.has(aws.name)) return classified('aws-unavailable');
  if (aws.name === 'CredentialsProviderError') return classified('aws-credentials');
  if (aws.name === 'TimeoutError' || aws.name === 'AbortError') return classified('timeout');
  if (typeof aws.code === 'string' && /^(ECONN|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND|UND_ERR)/.test(aws.code)) {
    return classified('network');
  }
  if (aws.$retryable || aws.$fault === 'server') return classified('aws-unavailable');
  if (aws.$fault === 'client') return classified('aws-rejected');
  return undefined;
}
