/**
 * One shape for a route's status, as the leader knows it and publishes it, and as `etcd-bridge
 * status`, /metrics and the EMF lines read it. The types are derived from the schemas, so the
 * publisher and the reader cannot disagree about a field.
 *
 * Nothing from the configuration but the group goes into it: no endpoint, password or key.
 */
import { z } from 'zod';
import type { Keyspace } from '../keyspace.js';

/** How often the leader publishes its status. */
export const STATUS_INTERVAL_MS = 2_000;
/** A published status older than this is marked stale (the leader is gone or stuck). */
export const STATUS_STALE_MS = 10_000;

export function statusKey(keyspace: Keyspace): string {
  return `${keyspace.root}status`;
}

const revision = z.string().regex(/^\d+$/, 'a revision as a decimal string');

/** Counters of one route since the bridge started. */
export const RouteStatsSchema = z.object({
  received: z.number(),
  committed: z.number(),
  skipped: z.number(),
  /** Records whose function answer had nothing to write. */
  noop: z.number(),
  retries: z.number(),
  deadLettered: z.number(),
  blocked: z.number(),
  resyncs: z.number(),
  batches: z.number(),
  invokeErrors: z.number(),
  /** Hand-offs (docs/design.md): optional, so the status of an older bridge still parses. */
  handOffsTaken: z.number().optional(),
  handOffsDeclined: z.number().optional(),
  /** Where batches' snapshots came from (docs/performance.md): optional, as above. */
  snapshotsRead: z.number().optional(),
  snapshotsFromCommit: z.number().optional(),
  snapshotsSkipped: z.number().optional(),
});
export type RouteStatsSnapshot = z.infer<typeof RouteStatsSchema>;

/**
 * Failures by classification (bridge/failure/classify.ts), for etcd_bridge_failures_total (a route's)
 * and etcd_bridge_commit_failures_total (the committer's).
 */
export const FailureCountsSchema = z.array(
  z.object({ verdict: z.string(), reason: z.string(), count: z.number() }),
);

/** What only the leader knows about a route, read without asking etcd. */
export const RouteProgressSchema = z.looseObject({
  route: z.string(),
  /** The literal head of the route's key pattern: the prefix it watches. */
  prefix: z.string(),
  function: z.string(),
  /** The checkpoint the leader has committed; null before its first. */
  checkpoint: revision.nullable(),
  /** Every revision up to this one is handled (committed, skipped, filtered or dead-lettered). */
  handledThrough: revision,
  /** Records held: queued, invoking or committing. */
  held: z.number().int().min(0),
  inFlightBatches: z.number().int().min(0),
  /** True when nothing is held, in flight or resyncing. */
  idle: z.boolean(),
  watch: z.string(),
  watchReconnects: z.number().int().min(0),
  stats: RouteStatsSchema,
  /** Why the route's commits are paused (etcd out of space, too many requests); null while they flow. */
  commitsPaused: z.string().nullable().optional(),
  /** The route's failures by classification (bridge/failure/classify.ts), for etcd_bridge_failures_total. */
  failures: FailureCountsSchema.optional(),
});
export type RouteProgress = z.infer<typeof RouteProgressSchema>;

/** A route's progress and its lag: what the leader publishes, /metrics exports and `status` shows. */
export const RouteStatusSchema = RouteProgressSchema.extend({
  /**
   * Revisions under the route's own prefix that it has not processed yet (bridge/status/lag.ts):
   * 0 for an idle route, whatever else is written to etcd.
   */
  lagRevisions: revision,
  /** Seconds the oldest record the route holds has waited; 0 when it holds nothing. */
  lagSeconds: z.number().min(0),
});
export type RouteStatus = z.infer<typeof RouteStatusSchema>;

/** What the leader counts for itself rather than per route, since it started leading. */
export const BridgeProgressSchema = z.looseObject({
  /** Keep-alive stream failures of the leader lease, each a move to the next endpoint. */
  leaseKeepAliveFailovers: z.number().int().min(0),
  /** The committer's failed transactions (they carry records of every route) by classification. */
  commitFailures: FailureCountsSchema,
});
export type BridgeProgress = z.infer<typeof BridgeProgressSchema>;

/** The document the leader keeps at `statusKey`. */
export const PublishedStatusSchema = z.looseObject({
  bridgeId: z.string(),
  group: z.string(),
  publishedAt: z.string(),
  headRevision: revision,
  routes: z.array(RouteStatusSchema),
  /** Optional: a leader from before it was published leaves it out. */
  bridge: BridgeProgressSchema.optional(),
});
export type PublishedStatus = z.infer<typeof PublishedStatusSchema>;
