import { type StageRequest, type StageResponse, StageResponseSchema } from '../../shared/index.js';
import { InvokeError } from '../errors.js';

/**
 * Validate a function's response against the contract and the batch it answers: every record must
 * be in `results` or in `batchItemFailures`, and in only one of them, once. A response that breaks the contract is the function's
 * fault as a whole: the batch is retried.
 */
export function checkResponse(functionName: string, request: StageRequest, payload: unknown): StageResponse {
  const parsed = StageResponseSchema.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvokeError(
      `${functionName}: response breaks the contract at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      'InvalidResponse',
    );
  }
  // One answer a record: two (twice in `results`, or in both lists) would commit it twice, or
  // commit it and retry it at once.
  const answered = new Set<string>();
  const twice = new Set<string>();
  for (const id of [
    ...parsed.data.results.map((r) => r.id),
    ...parsed.data.batchItemFailures.map((f) => f.itemIdentifier),
  ]) {
    if (answered.has(id)) twice.add(id);
    answered.add(id);
  }
  if (twice.size > 0) {
    throw new InvokeError(
      `${functionName}: response answers record(s) ${[...twice].join(', ')} more than once`,
      'InvalidResponse',
    );
  }
  const missing = request.records.filter((r) => !answered.has(r.id));
  if (missing.length > 0) {
    throw new InvokeError(
      `${functionName}: response has no result for record(s) ${missing.map((r) => r.id).join(', ')}`,
      'InvalidResponse',
    );
  }
  return parsed.data;
}
