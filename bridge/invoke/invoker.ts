import type { StageRequest, StageResponse } from '../../shared/index.js';

/**
 * Runs a batch through a stage function. Resolves with the function's (validated) response;
 * rejects with an InvokeError when the invocation as a whole failed.
 */
export interface Invoker {
  invoke(functionName: string, request: StageRequest): Promise<StageResponse>;
  close?(): Promise<void>;
}
