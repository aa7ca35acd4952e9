/**
 * The bridge's errors, and the one place that decides whether a failure is worth retrying.
 * Retryable: timeouts, throttling, etcd or the function unavailable, a function that threw.
 * Terminal: the record itself is bad (validation, rejected status) — retrying gives the same answer.
 */

export class BridgeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BridgeError';
  }
}

/** An invocation failed as a whole (no per-record answer). */
export class InvokeError extends BridgeError {
  constructor(
    message: string,
    /** AWS's or our name for it: TooManyRequestsException, TimeoutError, Unhandled, ... */
    readonly kind: string,
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'InvokeError';
  }
}

/** This bridge no longer leads its group: it must stop committing and exit. */
export class LeadershipLostError extends BridgeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LeadershipLostError';
  }
}

/** etcd refused one record's commit as such (e.g. over its request size limit): terminal. */
export class CommitRejectedError extends BridgeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CommitRejectedError';
  }
}

/** A configuration value is wrong; the message names the field. */
export class ConfigError extends BridgeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** True when retrying the same work later may succeed. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof InvokeError) return error.retryable;
  if (
    error instanceof LeadershipLostError ||
    error instanceof ConfigError ||
    error instanceof CommitRejectedError
  ) {
    return false;
  }
  // etcd unavailable, connection reset, deadline exceeded...: transient by nature.
  return true;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
