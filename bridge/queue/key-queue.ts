/**
 * Per-key queue: the records the bridge holds, in arrival (revision) order.
 *
 * One key is never in two batches: a key is "busy" from the moment its head record is taken until
 * that record completes (committed, skipped or dead-lettered); only then does its next record
 * become ready. Different keys run in parallel. The queue also knows the route's low watermark —
 * every revision below the oldest record still held is fully handled — which is the checkpoint.
 */

export interface QueuedRecord {
  readonly key: string;
  readonly revision: bigint;
}

interface KeyState<T> {
  readonly items: T[];
  busy: boolean;
}

export class KeyQueue<T extends QueuedRecord> {
  private readonly keys = new Map<string, KeyState<T>>();
  /** Keys whose head record can be taken, oldest first. */
  private readonly ready: string[] = [];
  private readyHead = 0;
  /** Every held record in arrival order, for the low watermark; completed ones are skipped lazily. */
  private readonly order: T[] = [];
  private orderHead = 0;
  private readonly done = new WeakSet<T>();
  private held = 0;
  /** The highest revision ever pushed. */
  private seen = 0n;

  get size(): number {
    return this.held;
  }

  /**
   * Records the queue still references: the held ones, plus finished ones behind the oldest
   * unfinished record (kept for the watermark). Back-pressure counts these, so a key that stays
   * unfinished for long (a blocked key) bounds memory instead of letting finished records pile up.
   */
  get retained(): number {
    return this.order.length - this.orderHead;
  }

  get readyCount(): number {
    return this.ready.length - this.readyHead;
  }

  get highestSeen(): bigint {
    return this.seen;
  }

  push(item: T): void {
    let state = this.keys.get(item.key);
    if (!state) {
      state = { items: [], busy: false };
      this.keys.set(item.key, state);
    }
    state.items.push(item);
    this.order.push(item);
    this.held++;
    if (item.revision > this.seen) this.seen = item.revision;
    if (!state.busy && state.items.length === 1) this.ready.push(item.key);
  }

  /** Note a revision seen with nothing to hold (a filtered event), so the watermark passes it. */
  observe(revision: bigint): void {
    if (revision > this.seen) this.seen = revision;
  }

  /** Take up to `max` ready records, one per key; their keys become busy. */
  take(max: number): T[] {
    const out: T[] = [];
    while (out.length < max && this.readyHead < this.ready.length) {
      const key = this.ready[this.readyHead++]!;
      const state = this.keys.get(key);
      if (!state || state.busy || state.items.length === 0) continue;
      state.busy = true;
      out.push(state.items[0]!);
    }
    this.compactReady();
    return out;
  }

  /** The taken record is finished: drop it, and ready its key's next record. */
  complete(item: T): void {
    const state = this.keys.get(item.key);
    if (!state || state.items[0] !== item)
      throw new Error(`complete(${item.key}@${item.revision}): not the key's head`);
    state.items.shift();
    state.busy = false;
    this.done.add(item);
    this.held--;
    if (state.items.length > 0) this.ready.push(item.key);
    else this.keys.delete(item.key);
    this.advanceOrder();
  }

  /** The taken record goes back, unfinished, to be taken again (after a retry delay). */
  release(item: T): void {
    const state = this.keys.get(item.key);
    if (!state || state.items[0] !== item)
      throw new Error(`release(${item.key}@${item.revision}): not the key's head`);
    state.busy = false;
    this.ready.push(item.key);
  }

  /** The oldest record still held, if any. */
  oldest(): T | undefined {
    this.advanceOrder();
    return this.order[this.orderHead];
  }

  /** Every revision up to this one is fully handled. */
  lowWatermark(): bigint {
    this.advanceOrder();
    const oldest = this.order[this.orderHead];
    return oldest === undefined ? this.seen : oldest.revision - 1n;
  }

  /** The low watermark if `finishing` were complete too (for a checkpoint committed with them). */
  lowWatermarkWithout(finishing: ReadonlySet<T>): bigint {
    this.advanceOrder();
    for (let i = this.orderHead; i < this.order.length; i++) {
      const item = this.order[i]!;
      if (!this.done.has(item) && !finishing.has(item)) return item.revision - 1n;
    }
    return this.seen;
  }

  private advanceOrder(): void {
    while (this.orderHead < this.order.length && this.done.has(this.order[this.orderHead]!)) this.orderHead++;
    if (this.orderHead > 4096 && this.orderHead * 2 > this.order.length) {
      this.order.splice(0, this.orderHead);
      this.orderHead = 0;
    }
  }

  private compactReady(): void {
    if (this.readyHead > 4096 && this.readyHead * 2 > this.ready.length) {
      this.ready.splice(0, this.readyHead);
      this.readyHead = 0;
    }
  }
}
