/**
 * The stage functions the bridge can run in-process (the embedded default, tests, the local
 * endpoint). Loaded lazily: loading a handler builds its Powertools logger and metrics.
 */
import type { LambdaHandler } from './lambda/context.js';

export const STAGE_NAMES = ['heat-stacks', 'job-state'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

export function isStageName(name: string): name is StageName {
  return (STAGE_NAMES as readonly string[]).includes(name);
}

export async function loadStageHandler(name: StageName): Promise<LambdaHandler> {
  // In-process, the bridge's own /metrics counts the work; the functions' EMF lines (one per
  // batch, on stdout) would only be noise. In Lambda this variable is unset and EMF flows.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const module =
    name === 'heat-stacks'
      ? await import('../functions/heat-stacks/index.js')
      : await import('../functions/job-state/index.js');
  return module.handler as LambdaHandler;
}
