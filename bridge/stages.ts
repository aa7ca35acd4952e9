/**
 * The stage functions the bridge can run in-process (the embedded default, tests, the local
 * endpoint). Loaded lazily: loading a handler builds its Powertools logger and metrics.
 */
import { isStageName, STAGE_NAMES, type StageName } from '../shared/names.js';
import type { LambdaHandler } from './invoke/lambda-context.js';

export { isStageName, STAGE_NAMES, type StageName };

export async function loadStageHandler(name: StageName): Promise<LambdaHandler> {
  // In-process, the bridge's own /metrics counts the work; the functions' EMF lines (one per
  // batch, on stdout) would only be noise. In Lambda this variable is unset and EMF flows.
  // Powertools Metrics reads it when the handler module builds its Metrics, so it is set here,
  // before the import, and only if the operator has not set it.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const module =
    name === 'heat-stacks'
      ? await import('../functions/heat-stacks/index.js')
      : await import('../functions/job-state/index.js');
  return module.handler as LambdaHandler;
}
