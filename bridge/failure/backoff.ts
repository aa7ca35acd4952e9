/**
 * The one backoff every retry in the bridge waits with: exponential with full jitter (AWS's
 * "Exponential Backoff And Jitter"), uniform in [0, min(max, initial × 2^n)] before retry n + 1.
 * The sequence is cockatiel's `ExponentialBackoff` with a jitter source that can be injected, so
 * tests get exact delays instead of relying on chance.
 *
 * Two ways to use it:
 * - `Backoff`, for a loop (the committer, dead-letter delivery, a resync): `next()` after each
 *   failure, `reset()` after a success.
 * - `backoffDelay`, for work that carries its own attempt count between tries (a record: its
 *   retries are scheduled on the route's queue, not in a loop).
 */
import { ExponentialBackoff, type GeneratorFn, type IBackoff } from 'cockatiel';

export interface BackoffOptions {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** The jitter source, in [0, 1); Math.random unless a test fixes it. */
  readonly random?: () => number;
}

/** cockatiel's generator shape: the state is the number of delays handed out so far. */
function fullJitter(random: () => number): GeneratorFn<number> {
  return (retries = 0, options) => {
    const ceiling = Math.min(options.maxDelay, options.initialDelay * 2 ** retries);
    return [Math.round(random() * ceiling), retries + 1];
  };
}

/** The delay before the retry that follows attempt number `attempts` (1 = the first attempt). */
export function backoffDelay(options: BackoffOptions, attempts: number): number {
  const generate = fullJitter(options.random ?? Math.random);
  return generate(Math.max(0, attempts - 1), {
    generator: generate,
    initialDelay: options.initialDelayMs,
    maxDelay: options.maxDelayMs,
    exponent: 2,
  })[0];
}

/** A loop's backoff: each failure waits longer, up to the maximum; a success starts over. */
export class Backoff {
  private readonly factory: ExponentialBackoff<number>;
  private current: IBackoff<unknown> | undefined;

  constructor(options: BackoffOptions) {
    this.factory = new ExponentialBackoff({
      generator: fullJitter(options.random ?? Math.random),
      initialDelay: options.initialDelayMs,
      maxDelay: options.maxDelayMs,
    });
  }

  /** The delay before the next try, after one more failure. */
  next(): number {
    this.current = this.current ? this.current.next(undefined) : this.factory.next();
    return this.current.duration;
  }

  reset(): void {
    this.current = undefined;
  }
}

/** Backoffs of the bridge's loops, named so a reader sees every schedule in one place. */
export const BACKOFF = {
  /** A commit transaction etcd did not take (unavailable, out of space, too many requests). */
  commit: { initialDelayMs: 50, maxDelayMs: 2_000 },
  /** A dead-letter queue that refuses (SQS throttled, unreachable, misconfigured). */
  deadLetter: { initialDelayMs: 100, maxDelayMs: 30_000 },
  /** A snapshot read or a resync page etcd did not answer. */
  read: { initialDelayMs: 100, maxDelayMs: 2_000 },
  /**
   * One etcd call of a redrive (a CLI run, no loop of its own): long enough for etcd3's circuit
   * breaker to let calls through again (it opens for 200 ms after three failures in a row).
   */
  redrive: { initialDelayMs: 250, maxDelayMs: 2_000 },
  /** A watch stream that broke (on the next endpoint): short, so a route resumes quickly. */
  watch: { initialDelayMs: 50, maxDelayMs: 2_000 },
  /**
   * The lease keep-alive, after every endpoint has failed in a row (one failure moves to the next
   * endpoint at once). Capped far below any TTL: the lease must be renewed within it.
   */
  leaseFailover: { initialDelayMs: 50, maxDelayMs: 500 },
  /** A campaign that ended before election (etcd unavailable, the lease lost meanwhile). */
  campaign: { initialDelayMs: 200, maxDelayMs: 5_000 },
  /** A start that cannot reach etcd yet (etcd/reach.ts), within its 60 s. */
  reach: { initialDelayMs: 200, maxDelayMs: 2_000 },
  /** Restarting a local etcd on its fixed ports while another process still holds one. */
  etcdRestart: { initialDelayMs: 400, maxDelayMs: 2_000 },
} as const satisfies Record<string, BackoffOptions>;

/** Waits `ms`, or less if `signal` aborts first (a stopping bridge does not sit out a backoff). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
