import type { DeadLetterRecord } from './record.js';

/** A dead-letter listing entry: the record and the sink's own id for it (etcd key, SQS receipt). */
export interface DeadLetterEntry {
  readonly id: string;
  readonly record: DeadLetterRecord;
}

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
