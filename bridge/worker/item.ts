/** A record the route holds: the source change and what the route has done with it so far. */
import type { DeadLetterInput } from '../dlq/record.js';
import type { Failure } from '../failure/failure.js';
import type { QueuedRecord } from '../queue/key-queue.js';
import type { Snapshot } from '../source/snapshot.js';

export interface WorkItem extends QueuedRecord {
  readonly type: 'put' | 'delete';
  readonly value: Buffer | null;
  /** Delivered by a resync (the checkpoint waits for every one of them). */
  readonly fromResync: boolean;
  /** When the bridge received it (ms since epoch), for lag in seconds. */
  readonly receivedAt: number;
  /** Failed for good on a route whose onFailure is `block`: the key waits on it. */
  blocked: boolean;
  attempts: number;
  firstAttemptAt: number;
  lastAttemptAt: number;
  /**
   * The applied marker's mod revision as the last batch read it ("0": no marker yet); undefined
   * while no batch has read it (a route that reads nothing does not read markers either).
   */
  markerModRevision: string | undefined;
  /**
   * Its route's reads for it, read in the transaction that committed it (a hand-off): its batch's
   * snapshot instead of a read. See `CommittedPut.snapshot` for when it is given. Null once a batch
   * has taken it (used or not): a retry reads, and nothing is given to it any more.
   */
  snapshot?: Snapshot | null;
}

export type SourceChange = Pick<WorkItem, 'key' | 'type' | 'value' | 'revision' | 'fromResync'>;

export function newItem(change: SourceChange, now: number = Date.now()): WorkItem {
  return {
    ...change,
    receivedAt: now,
    blocked: false,
    attempts: 0,
    firstAttemptAt: 0,
    lastAttemptAt: 0,
    markerModRevision: undefined,
  };
}

/** A batch takes the item: one more attempt. */
export function startAttempt(item: WorkItem, now: number): void {
  item.attempts++;
  if (item.firstAttemptAt === 0) item.firstAttemptAt = now;
  item.lastAttemptAt = now;
}

/** The attempt failed for a reason that is not the record's (etcd did not answer): it does not count. */
export function refundAttempt(item: WorkItem): void {
  item.attempts = Math.max(0, item.attempts - 1);
}

/** What the dead-letter record of an item that failed for good says: the whole record, the error, why it gave up. */
export function deadLetterInput(
  item: WorkItem,
  failure: Failure,
  giveUpReason: string,
  route: string,
  bridgeId: string,
): DeadLetterInput {
  return {
    route,
    key: item.key,
    type: item.type,
    modRevision: item.revision,
    value: item.value,
    errorType: failure.errorType,
    errorMessage: `${failure.message} (${giveUpReason})`,
    attempts: item.attempts,
    firstAttemptAt: item.firstAttemptAt,
    lastAttemptAt: item.lastAttemptAt,
    bridgeId,
  };
}
