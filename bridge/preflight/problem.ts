/** What a preflight check found wrong: what it is about, what happened, and the setting to change. */
export interface PreflightProblem {
  /** `route heat-stacks`, `AWS credentials`, ... */
  readonly subject: string;
  readonly problem: string;
  /** The setting (flag, environment variable, config field) that fixes it. */
  readonly fix: string;
}

export function formatProblem(p: PreflightProblem): string {
  return `${p.subject}: ${p.problem}; ${p.fix}`;
}

/** The environment variable that overrides a route's setting: HEAT_STACKS_FUNCTION_NAME, ... */
export function routeEnv(route: string, suffix: 'FUNCTION_NAME' | 'DLQ_URL'): string {
  return `${route.toUpperCase().replaceAll('-', '_')}_${suffix}`;
}
