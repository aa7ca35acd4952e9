/** What a route has done since the bridge started: counters for status and /metrics. */
export interface RouteStats {
  received: number;
  committed: number;
  skipped: number;
  /** Records whose function answer had nothing to write. */
  noop: number;
  retries: number;
  deadLettered: number;
  blocked: number;
  resyncs: number;
  batches: number;
  invokeErrors: number;
  /** Records another route committed that this one took straight from the commit (hand-off). */
  handOffsTaken: number;
  /** Offers it left to the watch (docs/design.md, "Hand-off"). */
  handOffsDeclined: number;
  /** Batches that read their snapshot from etcd. */
  snapshotsRead: number;
  /** Batches whose snapshot came with their records from the committing transaction (no read). */
  snapshotsFromCommit: number;
  /** Batches that read nothing at all (a route with no reads: markers checked by the commit). */
  snapshotsSkipped: number;
}

export function newRouteStats(): RouteStats {
  return {
    received: 0,
    committed: 0,
    skipped: 0,
    noop: 0,
    retries: 0,
    deadLettered: 0,
    blocked: 0,
    resyncs: 0,
    batches: 0,
    invokeErrors: 0,
    handOffsTaken: 0,
    handOffsDeclined: 0,
    snapshotsRead: 0,
    snapshotsFromCommit: 0,
    snapshotsSkipped: 0,
  };
}
