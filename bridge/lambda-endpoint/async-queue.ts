/**
 * Asynchronous (Event) invocations: accepted at once, run in the background, retried after a
 * function error (AWS retries twice, 1 then 2 minutes apart; here the delay is `retryDelayMs` times
 * the attempt number), and finally handed to the on-failure hook, as AWS sends the event to a
 * function's on-failure destination. Every attempt reuses the invocation's request id, as in AWS.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
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
  run: (job: AsyncJob) => Promise<InvocationOutcome>;
  onFailure: (failure: AsyncInvokeFailure) => Promise<void>;
  log: (entry: Record<string, unknown>) => void;
}

export class AsyncQueue {
  readonly #options: AsyncQueueOptions;
  #pending = 0;
  #idleWaiters: Array<() => void> = [];
  /** Retry delays in progress, so that close() can cut them short. */
  readonly #sleeps = new Set<() => void>();
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
    for (const wake of this.#sleeps) wake();
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
      if (attempts > 0) await this.#sleep(retryDelayMs * attempts);
      if (this.#closed) break;
      attempts += 1;
      lastAttemptAt = new Date().toISOString();
      const outcome = await run(job);
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

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#sleeps.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleeps.add(wake);
    });
  }
}
