/** A route's published status (bridge/status/schema.ts) for tests: idle, caught up, watching. */
import type { RouteStatus } from '../../bridge/status/schema.js';
import { newRouteStats } from '../../bridge/worker/stats.js';

export function routeStatus(route: string, overrides: Partial<RouteStatus> = {}): RouteStatus {
  return {
    route,
    prefix: `/esi-worker/${route}/`,
    function: route,
    checkpoint: '10',
    handledThrough: '10',
    held: 0,
    inFlightBatches: 0,
    idle: true,
    watch: 'watching',
    watchReconnects: 0,
    stats: newRouteStats(),
    lagRevisions: '0',
    lagSeconds: 0,
    ...overrides,
  };
}
