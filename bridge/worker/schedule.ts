/**
 * When a route dispatches its ready records: the one scheduling decision, pure.
 *
 * An idle route never waits: with nothing of it in flight, what is ready goes at once, even a
 * single record (a window would only add its length to the record's latency). Batching is for
 * what piles up behind work in flight: while a batch is out, a partial batch waits, for the batch
 * to fill, for a batch in flight to finish (which asks again, and may find the route idle), or at
 * most the route's window, whichever comes first.
 */

export interface ScheduleInput {
  /** Records that could be taken now (one per key). */
  readonly ready: number;
  /** The route's batches in flight (read, invoke or commit under way). */
  readonly inFlight: number;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly batchWindowMs: number;
}

/** `now`: dispatch; `wait`: ask again after the window (or when a batch finishes); `none`: nothing to do. */
export type ScheduleDecision = 'now' | 'wait' | 'none';

export function scheduleDecision(input: ScheduleInput): ScheduleDecision {
  if (input.ready === 0 || input.inFlight >= input.concurrency) return 'none';
  if (input.inFlight === 0) return 'now';
  if (input.ready >= input.batchSize || input.batchWindowMs === 0) return 'now';
  return 'wait';
}
