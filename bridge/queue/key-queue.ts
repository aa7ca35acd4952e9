/**
 * Per-key queue: the records the bridge holds, in arrival (revision) order.
 *
 * One key is never in two batches: a key is "busy" from the moment its head record is taken until
 * that record completes (committed, skipped or dead-lettered); only then does its next record
 * become ready. Different keys run in parallel. The queue also knows the route's low watermark —
 * every revision below the oldest record still held is fully handled — which is the checkpoint.
 *
 * Records come from the source (the watch, a resync) in arrival order, or ahead of it (`pushAhead`:
 * a hand-off, a record another route just committed, which the watch has not delivered yet). A
 * record ahead never raises the highest revision seen — that stays what the source delivered — so
 * the watermark never passes a revision the source has not delivered (records of other keys at
 * lower revisions may still be on their way).
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
  private order: T[] = [];
  private orderHead = 0;
  /** Records pushed ahead of the source, in revision order; completed ones are skipped lazily. */
  private ahead: T[] = [];
  private aheadHead = 0;
  private readonly done = new WeakSet<T>();
  private held = 0;
  /** The highest revision the source delivered (pushed or observed; records ahead do not count). */
  private seen = 0n;

  get size(): number {
    return this.held;
  }

  /**
   * Records the queue still references: the held ones, plus finished ones behind the oldest
   * unfinished record not dropped yet (`dropFinished` keeps no more of them than held ones, plus one).
   * Back-pressure counts these, so memory stays bounded; a key that stays unfinished for long (a
   * blocked key) does not make finished records pile up, so the other keys flow.
   */
  get retained(): number {
    return this.order.length - this.orderHead + this.ahead.length - this.aheadHead;
  }

  get readyCount(): number {
    return this.ready.length - this.readyHead;
  }

  get highestSeen(): bigint {
    return this.seen;
  }

  /** A record the source delivered. */
  push(item: T): void {
    this.hold(item);
    this.order.push(item);
    if (item.revision > this.seen) this.seen = item.revision;
  }

  /**
   * A record ahead of the source (a hand-off): held and ready like any other, but the watermark
   * stays below it, and below what the source has not delivered yet, until the source catches up.
   */
  pushAhead(item: T): void {
    this.hold(item);
    // Hand-offs come in commit (revision) order; keep the list sorted if one ever does not.
    let at = this.ahead.length;
    while (at > this.aheadHead && this.ahead[at - 1]!.revision > item.revision) at--;
    this.ahead.splice(at, 0, item);
  }

  private hold(item: T): void {
    let state = this.keys.get(item.key);
    if (!state) {
      state = { items: [], busy: false };
      this.keys.set(item.key, state);
    }
    state.items.push(item);
    this.held++;
    if (!state.busy && state.items.length === 1) this.ready.push(item.key);
  }

  /** The key's oldest held record (taken or not), if the queue holds any of the key. */
  head(key: string): T | undefined {
    return this.keys.get(key)?.items[0];
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
    this.dropFinished();
  }

  /**
   * Finished records behind an unfinished one (a blocked key, a record waiting for its retry) mean
   * nothing to the watermark, which skips them: once they outnumber the held records, they go.
   * The lists are rebuilt from what is held, so this costs O(1) a completion, amortized.
   */
  private dropFinished(): void {
    if (this.retained <= 2 * this.held + 1) return;
    this.order = this.order.slice(this.orderHead).filter((item) => !this.done.has(item));
    this.orderHead = 0;
    this.ahead = this.ahead.slice(this.aheadHead).filter((item) => !this.done.has(item));
    this.aheadHead = 0;
  }

  /** The taken record goes back, unfinished, to be taken again (after a retry delay). */
  release(item: T): void {
    const state = this.keys.get(item.key);
    if (!state || state.items[0] !== item)
      throw new Error(`release(${item.key}@${item.revision}): not the key's head`);
    state.busy = false;
    this.ready.push(item.key);
  }

  /** The oldest record still held (the lowest revision), if any. */
  oldest(): T | undefined {
    this.advanceOrder();
    const fromSource = this.order[this.orderHead];
    const ahead = this.ahead[this.aheadHead];
    if (fromSource === undefined) return ahead;
    return ahead !== undefined && ahead.revision < fromSource.revision ? ahead : fromSource;
  }

  /** Every revision up to this one is fully handled. */
  lowWatermark(): bigint {
    return this.lowWatermarkWithout(new Set());
  }

  /**
   * The low watermark if `finishing` were complete too (for a checkpoint committed with them): below
   * the oldest unfinished record, and never above what the source has delivered.
   */
  lowWatermarkWithout(finishing: ReadonlySet<T>): bigint {
    this.advanceOrder();
    let mark = this.seen;
    for (const list of [this.order, this.ahead]) {
      const head = list === this.order ? this.orderHead : this.aheadHead;
      for (let i = head; i < list.length; i++) {
        const item = list[i]!;
        if (this.done.has(item) || finishing.has(item)) continue;
        if (item.revision - 1n < mark) mark = item.revision - 1n;
        break; // records ahead are in revision order; the source's in arrival order (as ever)
      }
    }
    return mark;
  }

  private advanceOrder(): void {
    while (this.orderHead < this.order.length && this.done.has(this.order[this.orderHead]!)) this.orderHead++;
    if (this.orderHead > 4096 && this.orderHead * 2 > this.order.length) {
      this.order.splice(0, this.orderHead);
      this.orderHead = 0;
    }
    while (this.aheadHead < this.ahead.length && this.done.has(this.ahead[this.aheadHead]!)) this.aheadHead++;
    if (this.aheadHead > 1024 && this.aheadHead * 2 > this.ahead.length) {
      this.ahead.splice(0, this.aheadHead);
      this.aheadHead = 0;
    }
  }

  private compactReady(): void {
    if (this.readyHead > 4096 && this.readyHead * 2 > this.ready.length) {
      this.ready.splice(0, this.readyHead);
      this.readyHead = 0;
    }
  }
}
