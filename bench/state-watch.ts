/**
 * The bench's finish line: a raw etcd watch on the state records (3) from a given revision, which
 * counts the state puts of one workload and notes when each was seen (`performance.now()`). The
 * same watch on the job_state records (2) times the first stage alone.
 */
import type { Etcd3, IWatchResponse } from 'etcd3';
import { prefixRangeEnd } from '../bridge/etcd/ops.js';
import { JOB_STATE_ROOT, jobStateSeq, STATE_ROOT, stateSeq, type Workload } from './workload.js';

export interface StateWatchOptions {
  /** Also parse each record for its bench seq (the latency phase). */
  readonly onSeq?: (seq: number, seenAt: number) => void;
  /** Which record to watch; default the state record (3). */
  readonly record?: 'state' | 'jobState';
}

export class StateWatch {
  count = 0;
  /** performance.now() of the last state put seen. */
  lastSeenAt = 0;
  private stream: Awaited<ReturnType<Etcd3['watchClient']['watch']>> | undefined;
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;

  private constructor(
    private readonly workload: Workload,
    private readonly options: StateWatchOptions,
  ) {}

  static async start(
    client: Etcd3,
    workload: Workload,
    fromRevision: bigint,
    options: StateWatchOptions = {},
  ): Promise<StateWatch> {
    const watch = new StateWatch(workload, options);
    const root = options.record === 'jobState' ? JOB_STATE_ROOT : STATE_ROOT;
    const stream = await client.watchClient.watch();
    watch.stream = stream;
    stream.on('data', (res: IWatchResponse) => watch.onResponse(res));
    stream.on('error', (error: Error) => {
      watch.failure = error;
      watch.wake();
    });
    stream.write({
      create_request: {
        key: Buffer.from(root),
        range_end: prefixRangeEnd(root),
        start_revision: fromRevision.toString(),
        filters: ['Nodelete'],
      },
    });
    return watch;
  }

  private onResponse(res: IWatchResponse): void {
    if (res.canceled) {
      this.failure = new Error(`state watch canceled: ${res.cancel_reason || 'compacted'}`);
      this.wake();
      return;
    }
    if (res.events.length === 0) return;
    const now = performance.now();
    const jobState = this.options.record === 'jobState';
    for (const event of res.events) {
      if (event.type === 'Delete') continue;
      const key = event.kv.key.toString('utf8');
      if (!(jobState ? this.workload.ownsJobStateKey(key) : this.workload.ownsStateKey(key))) continue;
      this.count++;
      this.lastSeenAt = now;
      if (this.options.onSeq) {
        const value = event.kv.value.toString('utf8');
        const seq = jobState ? jobStateSeq(value) : stateSeq(value);
        if (seq !== undefined) this.options.onSeq(seq, now);
      }
    }
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /**
   * Resolves once `target` state puts were seen. `check` runs about every 100 ms and may throw (a
   * bridge that died); without progress for `stallMs` it rejects with what it saw.
   */
  async waitForCount(
    target: number,
    options: { stallMs?: number; check?: () => void; onProgress?: (count: number) => void } = {},
  ): Promise<void> {
    const stallMs = options.stallMs ?? 30_000;
    let lastCount = this.count;
    let lastProgress = Date.now();
    while (this.count < target) {
      if (this.failure) throw this.failure;
      options.check?.();
      options.onProgress?.(this.count);
      if (this.count !== lastCount) {
        lastCount = this.count;
        lastProgress = Date.now();
      } else if (Date.now() - lastProgress > stallMs) {
        throw new Error(`no progress for ${stallMs} ms: ${this.count}/${target} state records written`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    options.onProgress?.(this.count);
  }

  close(): void {
    this.stream?.cancel();
  }
}
