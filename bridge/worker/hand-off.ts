/**
 * Hand-off: a record another route has just committed under this route's prefix (stage heat-stacks'
 * job_state put, for stage job-state) is offered to this route straight from the committer's answer,
 * instead of waiting for it to come back through the watch. The watch still brings it; the route
 * then drops it as delivered already (`HandedOver`).
 *
 * A route takes an offer only when nothing before it can be overtaken (`handOffVerdict`): the
 * revision before the put on its key (the put's `prev_kv`, from the same transaction) must be the
 * newest event of that key the route has received (`ReceivedRevisions`). Per-key order then holds
 * as if the watch had brought the record. See docs/design.md, "Hand-off", for the writers this rule
 * assumes.
 *
 * A put may come with the consuming route's reads for it, read in the committing transaction itself
 * (`CommittedPut.snapshot`), so that its batch needs no snapshot read of its own. That snapshot is
 * at the put's revision, and it stands for a read at processing time only if nothing of this route
 * commits the key between the two: so it is given to a record only while no earlier record of its
 * key is held (`SnapshotsAhead` for a put the watch brings after the offer).
 */
import type { Snapshot } from '../source/snapshot.js';

/** A put committed for another route, as the committer's answer tells it. */
export interface CommittedPut {
  readonly key: string;
  readonly value: Buffer;
  /** The transaction's revision (a transaction is one revision). */
  readonly revision: bigint;
  /** The mod revision of the key's previous value (`prev_kv`); undefined when the key did not exist. */
  readonly prevModRevision: bigint | undefined;
  /**
   * What the consuming route reads for this record (its marker and its reads), read in the same
   * transaction after its writes, so at its revision: when the transaction had room for the reads.
   * One snapshot for all of a transaction's puts.
   */
  readonly snapshot?: Snapshot;
}

/** The newest event of a key the route has received (watch, resync or hand-off). */
export interface Received {
  readonly revision: bigint;
  readonly type: 'put' | 'delete';
}

/**
 * The newest event received per key, for the most recently changed `capacity` keys. A key evicted
 * (or never seen) is unknown, and an unknown key is never handed off: the bound costs hand-offs,
 * never safety.
 */
export class ReceivedRevisions {
  private readonly newest = new Map<string, Received>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.newest.size;
  }

  get(key: string): Received | undefined {
    return this.newest.get(key);
  }

  /** The route received `revision` of `key` (a lower revision than one known changes nothing). */
  note(key: string, revision: bigint, type: 'put' | 'delete'): void {
    const known = this.newest.get(key);
    if (known && known.revision >= revision) return;
    // Re-inserted, so the Map's order is least recently changed first: the eviction order.
    this.newest.delete(key);
    this.newest.set(key, { revision, type });
    if (this.newest.size > this.capacity) {
      const oldest = this.newest.keys().next();
      if (!oldest.done) this.newest.delete(oldest.value);
    }
  }

  clear(): void {
    this.newest.clear();
  }
}

/**
 * The records handed over that the watch has not brought yet, so that its event is dropped once.
 * Entries come in commit order (ascending revision), so those the watch has passed are at the front.
 */
export class HandedOver {
  /** `revision key` → revision, in insertion (commit) order. */
  private readonly pending = new Map<string, bigint>();

  get size(): number {
    return this.pending.size;
  }

  add(key: string, revision: bigint): void {
    this.pending.set(entryName(key, revision), revision);
  }

  /** True (and forgotten) when the watch's event is one handed over already. */
  take(key: string, revision: bigint): boolean {
    return this.pending.delete(entryName(key, revision));
  }

  /** Forget what the watch has passed (`nextRevision`): it will not bring those again. */
  pruneBelow(nextRevision: bigint): void {
    for (const [name, revision] of this.pending) {
      if (revision >= nextRevision) return;
      this.pending.delete(name);
    }
  }

  clear(): void {
    this.pending.clear();
  }
}

function entryName(key: string, revision: bigint): string {
  return `${revision} ${key}`;
}

/** Why an offer is not taken (the watch brings the record, as without hand-off). */
export type Decline =
  /** The route or its watch is not watching (paused, resyncing, reconnecting, stopped). */
  | 'not-watching'
  /** The route does not take puts. */
  | 'event-type'
  /** The queue, or the set of records handed over, has no room. */
  | 'no-room'
  /** The watch has delivered this revision already. */
  | 'delivered'
  /** The route knows nothing of the key (never seen, or evicted): an older event may be on its way. */
  | 'unknown-key'
  /** The key changed after the newest event the route has received: taking it would overtake that. */
  | 'would-overtake';

export interface OfferContext {
  /** The route is `watching` and its watch's stream is `watching`. */
  readonly watching: boolean;
  readonly takesPuts: boolean;
  /** The route can hold one more record, and one more record handed over. */
  readonly room: boolean;
  /** The watch's next revision: everything below it has been delivered. */
  readonly watchNext: bigint;
  /** The newest event of the put's key the route has received. */
  readonly received: Received | undefined;
}

/**
 * Take the offer, or why not. Taken iff nothing of the key before the put can be overtaken: the
 * key's previous value is the newest event received, or the key did not exist and the newest event
 * received is a delete.
 */
export function handOffVerdict(put: CommittedPut, context: OfferContext): 'take' | Decline {
  if (!context.watching) return 'not-watching';
  if (!context.takesPuts) return 'event-type';
  if (!context.room) return 'no-room';
  if (put.revision < context.watchNext) return 'delivered';
  const received = context.received;
  if (received === undefined) return 'unknown-key';
  if (received.revision >= put.revision) return 'delivered';
  if (put.prevModRevision !== undefined)
    // The previous value is the key's last change before the put: no event of the key lies between.
    return received.revision === put.prevModRevision ? 'take' : 'would-overtake';
  // The key did not exist: the newest event received must be a delete (see docs/design.md: a
  // job_state key is deleted only by stage job-state, after this route processed what it deletes).
  return received.type === 'delete' ? 'take' : 'would-overtake';
}

/**
 * Snapshots of offers the route declined because the watch had not brought them yet: given to the
 * record when the watch brings it. Forgotten once the watch has passed them; at most `capacity`.
 */
export class SnapshotsAhead {
  private readonly pending = new Map<string, { readonly revision: bigint; readonly snapshot: Snapshot }>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.pending.size;
  }

  add(key: string, revision: bigint, snapshot: Snapshot): void {
    if (this.pending.size >= this.capacity) return;
    this.pending.set(entryName(key, revision), { revision, snapshot });
  }

  /** The snapshot for the watch's event of `key` at `revision`, if one was offered (and forgotten). */
  take(key: string, revision: bigint): Snapshot | undefined {
    const name = entryName(key, revision);
    const found = this.pending.get(name);
    if (found) this.pending.delete(name);
    return found?.snapshot;
  }

  /** Forget what the watch has passed. */
  pruneBelow(nextRevision: bigint): void {
    for (const [name, { revision }] of this.pending) {
      if (revision >= nextRevision) return;
      this.pending.delete(name);
    }
  }

  clear(): void {
    this.pending.clear();
  }
}
