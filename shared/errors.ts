/**
 * Errors of the transform module. Every one of them is terminal: retrying the same record gives the
 * same error, so the bridge dead-letters it. `retryable` is how they say so: the stage runner puts
 * it into the record's `batchItemFailures` entry, and the bridge's classifier reads it when one is
 * thrown in-process. (Retryable errors — timeouts, throttling, etcd unavailable — belong to the
 * bridge, not to this pure module.)
 */

/** Base of every error a stage raises for one record. */
export class TransformError extends Error {
  /** Retrying the same input cannot succeed: every transform error is the input's fault. */
  readonly retryable: boolean = false;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransformError';
  }
}

/** The text is not JSON. `position` is the 0-based UTF-16 offset where parsing stopped. */
export class JsonSyntaxError extends TransformError {
  constructor(
    readonly reason: string,
    readonly position: number,
    readonly line: number,
    readonly column: number,
  ) {
    super(`invalid JSON: ${reason} at line ${line} column ${column} (char ${position})`);
    this.name = 'JsonSyntaxError';
  }
}

/** The text is JSON but beyond what the codec accepts (nesting depth or size). */
export class JsonLimitError extends TransformError {
  constructor(message: string) {
    super(message);
    this.name = 'JsonLimitError';
  }
}

/** A record (or a record it reads) does not have the shape its stage needs; `field` names where. */
export class RecordValidationError extends TransformError {
  constructor(
    readonly recordKey: string,
    readonly field: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`${recordKey}: ${field ? `${field}: ` : ''}${detail}`, options);
    this.name = 'RecordValidationError';
  }
}

/** The heat stack status has no worker_state (SUSPEND_*, CHECK_*, unknown): nothing is written. */
export class RejectedStatusError extends TransformError {
  constructor(
    readonly recordKey: string,
    readonly stackStatus: string,
  ) {
    super(`${recordKey}: stack_status ${JSON.stringify(stackStatus)} has no worker_state; record rejected`);
    this.name = 'RejectedStatusError';
  }
}
