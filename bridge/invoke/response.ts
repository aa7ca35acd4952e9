import { type StageRequest, type StageResponse, StageResponseSchema } from '../../shared/index.js';
import { InvokeError } from '../errors.js';

/**
 * Validate a function's response against the contract and the batch it answers: every record must
 * be in `results` or in `batchItemFailures`. A response that breaks the contract is the function's
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
  const answered = new Set<string>();
  for (const r of parsed.data.results) answered.add(r.id);
  for (const f of parsed.data.batchItemFailures) answered.add(f.itemIdentifier);
  const missing = request.records.filter((r) => !answered.has(r.id));
  if (missing.length > 0) {
    throw new InvokeError(
      `${functionName}: response has no result for record(s) ${missing.map((r) => r.id).join(', ')}`,
      'InvalidResponse',
    );
  }
  return parsed.data;
}
