/**
 * What the status machinery needs from a running bridge: the bridge implements it, and the
 * publisher, /metrics and the replay's settle step depend on this interface only, never on the
 * bridge's route workers.
 */
import type { BridgeProgress, RouteProgress, RouteStatus } from './schema.js';

export interface StatusSource {
  readonly bridgeId: string;
  readonly group: string;
  /** Set once the bridge has stopped for good (leadership lost, a fatal error). */
  readonly fatal: Error | undefined;
  /** Each route's progress, from memory: cheap enough to poll. */
  status(): RouteProgress[];
  /** Each route's progress and lag; the lag asks etcd. */
  routeStatuses(now?: number): Promise<RouteStatus[]>;
  /** True when no route holds or processes anything and no commit is pending. */
  isIdle(): boolean;
  /** The leader's own counters (lease keep-alive, commits), from memory. */
  bridgeProgress?(): BridgeProgress;
}
