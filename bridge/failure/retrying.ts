/**
 * Run one call again while it fails with a `retry` verdict, for up to `patienceMs`, waiting the one
 * backoff between tries. For one-shot work outside a loop of its own (a redrive's etcd calls): a
 * failure that is not transient, or one past the patience, is thrown as it came.
 */
import { Backoff, type BackoffOptions, sleep } from './backoff.js';
import { classify } from './classify.js';

export interface RetryingOptions {
  /** How long to keep trying, from the first try. */
  readonly patienceMs: number;
  readonly backoff: BackoffOptions;
  readonly signal?: AbortSignal;
  /** The clock (tests). */
  readonly now?: () => number;
}

export async function retrying<T>(work: () => Promise<T>, options: RetryingOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const backoff = new Backoff(options.backoff);
  const deadline = now() + options.patienceMs;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (classify(error).verdict !== 'retry' || options.signal?.aborted) throw error;
      const delayMs = backoff.next();
      if (now() + delayMs > deadline) throw error;
      await sleep(delayMs, options.signal);
    }
  }
}
