import type { ICompare, IRequestOp } from 'etcd3';
import type { DeadLetterRecord } from './record.js';

/** A dead-letter listing entry: the record and the sink's own id for it (etcd key, SQS receipt). */
export interface DeadLetterEntry {
  readonly id: string;
  readonly record: DeadLetterRecord;
  /** etcd: the entry key's mod revision when it was listed, so changes to it can be guarded. */
  readonly version?: string;
}

/**
 * An entry of a dead-letter queue that is not a dead-letter record (written by hand, by another
 * tool, or by Lambda itself into the queue it was given as its own dead-letter target): listings
 * skip it and say so, and `dlq delete <id>` removes it where the sink can name it.
 */
export interface UnreadableEntry {
  /** What `dlq delete` takes (etcd: `<route>/<revision>/<discriminator>`; SQS: `<route>/<message id>`). */
  readonly id: string;
  readonly reason: string;
}

/** Told of each unreadable entry a listing skipped. */
export type OnUnreadable = (entry: UnreadableEntry) => void;

/**
 * Where terminal failures go. `transactional` sinks (etcd) have their write committed by the bridge
 * in the same transaction as the record's applied marker; others (SQS) are sent first, then the
 * marker is committed — at least once into the queue.
 */
export interface DeadLetterSink {
  readonly kind: 'etcd' | 'sqs';
  /** Largest value kept inside a record; larger values keep only their size and sha256. */
  readonly maxValueBytes: number;
  /** For a sink that sends by itself (SQS): called before the marker commits. */
  send?(record: DeadLetterRecord): Promise<void>;
  /** For a transactional sink (etcd): the write the bridge commits with the record's marker. */
  write?(record: DeadLetterRecord): { key: string; value: string };
  list(route?: string, limit?: number): Promise<DeadLetterEntry[]>;
  remove(entry: DeadLetterEntry): Promise<void>;
}

/**
 * The operator's side of a dead-letter queue (`etcd-bridge dlq`, `status`): both sinks implement it.
 */
export interface DeadLetterQueue extends DeadLetterSink {
  /**
   * Up to `limit` entries. etcd: in key order (route, then revision), those after the entry id
   * `after` when given. SQS: received, so hidden from the next call for the visibility timeout.
   * An entry that is not a record is skipped, and told to `onUnreadable`.
   */
  list(
    route?: string,
    limit?: number,
    after?: string,
    onUnreadable?: OnUnreadable,
  ): Promise<DeadLetterEntry[]>;
  /** Remove the entry, unless it changed since it was listed. */
  remove(entry: DeadLetterEntry): Promise<void>;
  /** Put `record` in the entry's place (a redrive that failed again). */
  replace(entry: DeadLetterEntry, record: DeadLetterRecord): Promise<void>;
  /** Records the route's queue holds (SQS: approximate, visible and in flight). */
  count(route: string): Promise<number>;
  /** Hand back entries listed but left alone (SQS: visible again at once). */
  release(entries: readonly DeadLetterEntry[]): Promise<void>;
  /**
   * Drop the record with this full id (`recordId`) without running it; the record dropped, or
   * undefined when the queue holds none by that id.
   */
  delete(id: string): Promise<DeadLetterRecord | undefined>;
  /** Delete an entry that is not a record, by the id a listing told; true if there was one. */
  deleteEntry?(id: string): Promise<boolean>;
  /**
   * Drop every record of the route. etcd: the records deleted, exactly. SQS: PurgeQueue (visible
   * and in-flight messages alike), and the queue's approximate count just before.
   */
  purge(route: string): Promise<number>;
  /**
   * A transactional queue (etcd): the compares and ops that remove the entry inside another
   * transaction (a redrive's commit), so the outputs and the removal land together.
   */
  removalInTxn?(entry: DeadLetterEntry): { compares: ICompare[]; ops: IRequestOp[] };
}
