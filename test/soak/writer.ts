/**
 * The soak's two writers, both straight to etcd (not through the proxy the bridges use):
 *
 * - the record stream: heat stack records of `makeWorkload` at a steady rate, never two puts of one
 *   key in flight (so a key's revisions follow its sequence numbers), each failed put retried until
 *   it succeeds (etcd restarts are part of the soak; a put whose answer was lost may have committed,
 *   which the checker sees as a duplicate input and judges as two inputs);
 * - a clock: a put of one key every 100 ms.
 *
 * Both log the wall-clock time at which etcd acknowledged each revision. Since revisions only go
 * up, a revision R was made before the acknowledgement of any later revision, which bounds the
 * time of every pipeline write in the history from above (`RevisionClock`); that is what the
 * soak's lag is measured with.
 */
import type { Etcd3 } from 'etcd3';
import type { WorkloadRecord } from '../helpers/workload.js';

export const CLOCK_KEY = '/soak/clock';

/** A client, or a function giving the client to use now (a cluster test writes through a member it is not faulting). */
export type ClientSource = Etcd3 | (() => Etcd3);

function clientOf(source: ClientSource): Etcd3 {
  return typeof source === 'function' ? source() : source;
}

export interface StreamStats {
  written: number;
  retried: number;
}

export class RecordStream {
  readonly stats: StreamStats = { written: 0, retried: 0 };
  /** When each record's first put was sent, by seq. */
  readonly sentAt = new Map<number, number>();
  private stopped = false;
  private finished: Promise<void> | undefined;

  constructor(
    private readonly client: ClientSource,
    private readonly records: readonly WorkloadRecord[],
    private readonly clock: RevisionClock,
    private readonly options: { perSecond: number; parallel?: number; endsAt: number },
  ) {}

  start(): void {
    this.finished ??= this.run();
  }

  /** Finishes the puts in flight (retrying them until they succeed) and writes no more. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.finished;
  }

  /** The records written so far, in order. */
  get written(): readonly WorkloadRecord[] {
    return this.records.slice(0, this.stats.written);
  }

  private async run(): Promise<void> {
    const parallel = this.options.parallel ?? 8;
    const started = Date.now();
    let i = 0;
    while (i < this.records.length && !this.stopped && Date.now() < this.options.endsAt) {
      const wait = started + (i * 1000) / this.options.perSecond - Date.now();
      if (wait > 0) await sleep(wait);
      const chunk: WorkloadRecord[] = [];
      const keys = new Set<string>();
      while (i < this.records.length && chunk.length < parallel && !keys.has(this.records[i]!.key)) {
        keys.add(this.records[i]!.key);
        chunk.push(this.records[i]!);
        i++;
      }
      await Promise.all(chunk.map((record) => this.put(record)));
      this.stats.written += chunk.length;
    }
  }

  private async put(record: WorkloadRecord): Promise<void> {
    this.sentAt.set(record.seq, Date.now());
    for (;;) {
      try {
        const response = await clientOf(this.client).put(record.key).value(record.value).exec();
        this.clock.ack(Number(response.header.revision), Date.now());
        return;
      } catch {
        this.stats.retried++;
        await sleep(100);
      }
    }
  }
}

/** Puts CLOCK_KEY every `intervalMs`, logging each acknowledged revision's time. */
export class ClockTicker {
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;

  constructor(
    private readonly client: ClientSource,
    private readonly clock: RevisionClock,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
  }

  /** One more tick, acknowledged (retried until it is), then no more. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.inFlight) await sleep(20);
    for (let attempt = 0; attempt < 50; attempt++) {
      if (await this.tick()) return;
      await sleep(100);
    }
  }

  private async tick(): Promise<boolean> {
    if (this.inFlight) return false;
    this.inFlight = true;
    try {
      const response = await clientOf(this.client).put(CLOCK_KEY).value(String(Date.now())).exec();
      this.clock.ack(Number(response.header.revision), Date.now());
      return true;
    } catch {
      return false; // etcd down: the next tick tries again
    } finally {
      this.inFlight = false;
    }
  }
}

/** Upper bounds of the wall-clock time of revisions, from acknowledged writes. */
export class RevisionClock {
  private readonly acks: Array<[revision: number, at: number]> = [];
  private sorted: { revisions: number[]; suffixMin: number[] } | undefined;

  ack(revision: number, at: number): void {
    this.acks.push([revision, at]);
    this.sorted = undefined;
  }

  get size(): number {
    return this.acks.length;
  }

  /** A time by which `revision` had certainly been made: the earliest ack of any later revision. */
  madeBy(revision: number): number | undefined {
    if (!this.sorted) {
      const acks = [...this.acks].sort((a, b) => a[0] - b[0]);
      const suffixMin = new Array<number>(acks.length);
      let min = Number.POSITIVE_INFINITY;
      for (let i = acks.length - 1; i >= 0; i--) {
        min = Math.min(min, acks[i]![1]);
        suffixMin[i] = min;
      }
      this.sorted = { revisions: acks.map((a) => a[0]), suffixMin };
    }
    const { revisions, suffixMin } = this.sorted;
    // First index with revisions[i] > revision.
    let lo = 0;
    let hi = revisions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (revisions[mid]! > revision) hi = mid;
      else lo = mid + 1;
    }
    return lo < revisions.length ? suffixMin[lo] : undefined;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
