/**
 * Asynchronous (Event) invocations: accepted at once, run in the background, retried after a
 * function error (AWS retries twice, 1 then 2 minutes apart; here the delay is `retryDelayMs` times
 * the attempt number), and finally handed to the on-failure hook, as AWS sends the event to a
 * function's on-failure destination. Every attempt reuses the invocation's request id, as in AWS.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { sleep } from '../failure/backoff.js';
import type { FunctionErrorPayload, InvocationOutcome } from './invocation.js';

/** What the on-failure hook receives once all attempts of an Event invocation have failed. */
export interface AsyncInvokeFailure {
  functionName: string;
  requestId: string;
  /** The request body, as the caller sent it. */
  payload: string;
  error: { errorType: string; errorMessage: string };
  attempts: number;
  firstAttemptAt: string;
  lastAttemptAt: string;
}

export interface AsyncJob {
  functionName: string;
  requestId: string;
  payload: string;
  event: unknown;
}

export interface AsyncQueueOptions {
  retries: number;
  retryDelayMs: number;
  /** `signal` aborts at close(): an attempt not begun yet (waiting for capacity) may reject then. */
  run: (job: AsyncJob, signal: AbortSignal) => Promise<InvocationOutcome>;
  onFailure: (failure: AsyncInvokeFailure) => Promise<void>;
  log: (entry: Record<string, unknown>) => void;
}

export class AsyncQueue {
  readonly #options: AsyncQueueOptions;
  #pending = 0;
  #idleWaiters: Array<() => void> = [];
  /** Cuts the retry delays in progress short at close(). */
  readonly #closing = new AbortController();
  #closed = false;

  constructor(options: AsyncQueueOptions) {
    this.#options = options;
  }

  enqueue(job: AsyncJob): void {
    this.#pending += 1;
    void this.#process(job)
      .catch((error: unknown) => {
        this.#options.log({
          level: 'error',
          msg: 'async invocation crashed',
          requestId: job.requestId,
          error: String(error),
        });
      })
      .finally(() => {
        this.#pending -= 1;
        if (this.#pending === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
      });
  }

  /** Resolves once no Event invocation is queued, waiting for a retry, or running. */
  idle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Stops retrying: invocations waiting for a retry are dropped (and logged) rather than holding the
   * shutdown for minutes; running attempts finish, bounded by their function's timeout.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing.abort();
    return this.idle();
  }

  async #process(job: AsyncJob): Promise<void> {
    const { retries, retryDelayMs, run, log } = this.#options;
    // Let the 202 go out before the handler starts.
    await nextTurn();
    const firstAttemptAt = new Date().toISOString();
    let lastAttemptAt = firstAttemptAt;
    let lastError: FunctionErrorPayload | undefined;
    let attempts = 0;
    while (attempts <= retries && !this.#closed) {
      // Not the bridge's backoff (failure/backoff.ts) on purpose: this emulates AWS's own schedule
      // for Event invocations (two retries, 1 then 2 minutes after, no jitter), scaled by
      // retryDelayMs, so what a caller sees locally is when AWS would retry, not a client's choice.
      if (attempts > 0) await sleep(retryDelayMs * attempts, this.#closing.signal);
      if (this.#closed) break;
      attempts += 1;
      lastAttemptAt = new Date().toISOString();
      let outcome: InvocationOutcome;
      try {
        outcome = await run(job, this.#closing.signal);
      } catch (error) {
        // Refused at close before it ran (it was waiting for an environment): dropped, as below.
        if (!this.#closed) throw error;
        attempts -= 1;
        break;
      }
      if (outcome.kind === 'success') return;
      lastError = outcome.error;
      log({
        level: 'warn',
        msg: 'async invocation failed',
        functionName: job.functionName,
        requestId: job.requestId,
        attempt: attempts,
        errorType: lastError.errorType,
      });
    }
    if (attempts <= retries || !lastError) {
      log({
        level: 'warn',
        msg: 'async invocation dropped at shutdown',
        functionName: job.functionName,
        requestId: job.requestId,
        attempts,
      });
      return;
    }
    const failure: AsyncInvokeFailure = {
      functionName: job.functionName,
      requestId: job.requestId,
      payload: job.payload,
      error: { errorType: lastError.errorType, errorMessage: lastError.errorMessage },
      attempts,
      firstAttemptAt,
      lastAttemptAt,
    };
    try {
      await this.#options.onFailure(failure);
    } catch (error) {
      // The destination failing must not be mistaken for the function failing again.
      log({ level: 'error', msg: 'on-failure hook threw', requestId: job.requestId, error: String(error) });
    }
  }
}
