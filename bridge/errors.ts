/**
 * The bridge's own errors. Each says what went wrong; what a failure MEANS (retry, dead-letter,
 * stop) is decided in one place, `failure/classify.ts`, from these types and the libraries' own.
 */

export class BridgeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BridgeError';
  }
}

/**
 * An invocation failed as a whole (no per-record answer). `kind` is AWS's or our name for it
 * (TooManyRequestsException, Sandbox.Timedout, Unhandled, InvalidResponse, ...): it becomes the
 * dead-letter record's `errorType`; the SDK's error, if any, is the `cause` the classifier reads.
 */
export class InvokeError extends BridgeError {
  constructor(
    message: string,
    readonly kind: string,
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

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The name a failure goes by in a dead-letter record (`errorType`). */
export function errorType(error: unknown): string {
  if (error instanceof InvokeError) return error.kind;
  return error instanceof Error ? error.name : 'Error';
}
