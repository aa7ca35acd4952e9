/**
 * Names more than one part of the project must spell the same way: the stage functions (route
 * names, `functions/<name>/` folders, the CDK's function and queue names) and the CloudWatch
 * namespace the functions, the bridge's EMF lines and the alarms share.
 */

/** The two stage functions, by the route name the bridge uses for them. */
export const STAGE_NAMES = ['heat-stacks', 'job-state'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

export function isStageName(name: string): name is StageName {
  return (STAGE_NAMES as readonly string[]).includes(name);
}

/**
 * The most revisions a route's lag is counted up to (`LagRevisions`, `etcd_bridge_lag_revisions`): a
 * backlog beyond it reads as this figure. The CDK's lag alarm threshold must stay below it.
 */
export const LAG_COUNT_LIMIT = 10_000;

/** The CloudWatch metrics namespace of the stage functions and the bridge. */
export const METRICS_NAMESPACE = 'EtcdBridge';
