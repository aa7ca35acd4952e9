/**
 * A failure as the bridge carries it between steps: what happened (for a dead-letter record and the
 * log), and what it means (its classification).
 */
import type { BatchItemFailure } from '../../shared/index.js';
import { errorMessage, errorType } from '../errors.js';
import { type Classification, classify, classifyRecordFailure } from './classify.js';

export interface Failure extends Classification {
  /** The dead-letter record's `errorType`: AWS's or the function's name for it, or the error class. */
  readonly errorType: string;
  readonly message: string;
  /** The error itself, when there was one (a function's per-record answer has none). */
  readonly error?: unknown;
}

export function failureOf(error: unknown): Failure {
  return { ...classify(error), errorType: errorType(error), message: errorMessage(error), error };
}

/** The function failed one record in its answer (`batchItemFailures`). */
export function failureOfRecord(failure: BatchItemFailure): Failure {
  return {
    ...classifyRecordFailure(failure.retryable),
    errorType: failure.errorType ?? 'FunctionRecordError',
    message: failure.error,
  };
}
