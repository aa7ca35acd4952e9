/**
 * One batch through a stage: every record gets a result or a failure, never both, never neither.
 * A TransformError says whether a retry can help (`retryable`: never, for the input's own faults);
 * any other error is a fault of ours or of the runtime, reported as retryable so the bridge retries
 * it before dead-lettering.
 */
import type { BatchItemFailure, StageRequest, StageResponse, StageResult } from '../contract.js';
import { TransformError } from '../errors.js';
import type { Stage } from './stage.js';

export function runStageBatch(stage: Stage, request: StageRequest): StageResponse {
  const results: StageResult[] = [];
  const batchItemFailures: BatchItemFailure[] = [];
  for (const record of request.records) {
    try {
      results.push({ id: record.id, mutations: stage.transform(record) });
    } catch (error) {
      batchItemFailures.push(toFailure(record.id, error));
    }
  }
  return { results, batchItemFailures };
}

function toFailure(itemIdentifier: string, error: unknown): BatchItemFailure {
  const err = error instanceof Error ? error : new Error(String(error));
  const retryable = error instanceof TransformError ? error.retryable : true;
  return { itemIdentifier, retryable, error: err.message, errorType: err.name };
}
