/**
 * Moved to `worker/` (one part a file: state, settle, batch, item, stats, the worker itself).
 * This re-export stands until bridge.ts imports from there.
 */
export { type RouteObserver, RouteWorker, type RouteWorkerDeps } from './worker/route-worker.js';
export type { RouteStats } from './worker/stats.js';
