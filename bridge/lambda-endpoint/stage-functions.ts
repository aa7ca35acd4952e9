import { loadStageHandler, STAGE_NAMES } from '../stages.js';
import type { LambdaEndpointOptions } from './server.js';

/** Both stage functions, as the local endpoint hosts them (names as in AWS: heat-stacks, job-state). */
export async function stageFunctions(
  timeoutMs = 30_000,
): Promise<NonNullable<LambdaEndpointOptions['functions']>> {
  return Promise.all(
    STAGE_NAMES.map(async (name) => ({ name, handler: await loadStageHandler(name), timeoutMs })),
  );
}
