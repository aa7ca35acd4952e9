/**
 * The execution environments of one function, as Lambda scales them: an idle (warm) environment
 * serves the next invocation; when every one is busy a new one starts (a cold start), up to the
 * concurrency limit; past it a synchronous invocation is throttled (429 TooManyRequestsException)
 * while an asynchronous one waits for an environment, as Lambda's event queue does.
 */
import { tooManyRequests } from '../api-errors.js';
import { type EnvironmentResult, type EnvironmentSpec, ExecutionEnvironment } from './environment.js';
import type { RuntimeTools } from './runtime-tools.js';

export interface PoolOptions {
  readonly spec: EnvironmentSpec;
  readonly tools: RuntimeTools;
  /** Environments at most (Lambda: reserved concurrency, or the account's limit). */
  readonly concurrency: number;
  /** Whether the limit is the function's reserved concurrency (it names the 429's Reason). */
  readonly reserved: boolean;
  readonly onLog: (line: string) => void;
}

export class EnvironmentPool {
  readonly #options: PoolOptions;
  readonly #environments = new Set<ExecutionEnvironment>();
  /** Environments being started: they count against the limit already, and close() waits for them. */
  readonly #starting = new Set<Promise<unknown>>();
  readonly #waiters: Array<() => void> = [];
  #closed = false;

  constructor(options: PoolOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
    }
    this.#options = options;
  }

  /** How many environments exist (busy or idle). */
  get size(): number {
    return this.#environments.size + this.#starting.size;
  }

  environments(): readonly ExecutionEnvironment[] {
    return [...this.#environments];
  }

  /** `signal`: a wait for capacity ends when it aborts (the endpoint is closing), with a rejection. */
  async invoke(
    requestId: string,
    payload: string,
    waitForCapacity: boolean,
    signal?: AbortSignal,
  ): Promise<EnvironmentResult> {
    const environment = await this.#acquire(waitForCapacity, signal);
    try {
      return await environment.invoke(requestId, payload);
    } finally {
      if (environment.dead) this.#environments.delete(environment);
      this.#wakeOne();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    // A start still under way kills its own environment when it sees the pool closed (#startOne).
    await Promise.allSettled([...this.#starting]);
    await Promise.all([...this.#environments].map((environment) => environment.kill()));
    this.#environments.clear();
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async #acquire(waitForCapacity: boolean, signal?: AbortSignal): Promise<ExecutionEnvironment> {
    for (;;) {
      if (this.#closed || signal?.aborted) throw new Error('the endpoint is closing');
      for (const environment of this.#environments) {
        if (environment.dead) this.#environments.delete(environment);
        else if (environment.reserve()) return environment;
      }
      if (this.size < this.#options.concurrency) return this.#startOne();
      if (!waitForCapacity) throw tooManyRequests(this.#options.reserved);
      await new Promise<void>((resolve) => {
        const onAbort = (): void => {
          // Out of the line, so that a wake-up meant for the next waiter is not spent on this one.
          const at = this.#waiters.indexOf(wake);
          if (at >= 0) this.#waiters.splice(at, 1);
          resolve();
        };
        const wake = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        this.#waiters.push(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  async #startOne(): Promise<ExecutionEnvironment> {
    const { spec, tools, onLog } = this.#options;
    const starting = ExecutionEnvironment.start(spec, tools, onLog).then(async (environment) => {
      if (this.#closed) {
        // close() ran while this one was starting: nobody else would ever end its process.
        await environment.kill();
        throw new Error('the endpoint is closing');
      }
      environment.reserve();
      this.#environments.add(environment);
      return environment;
    });
    this.#starting.add(starting);
    try {
      return await starting;
    } finally {
      this.#starting.delete(starting);
    }
  }

  #wakeOne(): void {
    this.#waiters.shift()?.();
  }
}
