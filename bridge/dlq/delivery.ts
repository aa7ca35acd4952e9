/**
 * Delivering one record to the dead-letter queue, then committing its applied marker.
 *
 * An SQS sink is sent to before the marker commits: at least once into the queue, never lost. A
 * queue that refuses (throttled, unreachable, misconfigured) holds this key, loudly, and is tried
 * again with the dead-letter backoff until it accepts — there is nowhere else to put the record.
 * Only a fatal failure (a configuration error) ends that. A stop meanwhile leaves the record
 * unfinished, to be delivered again after the restart.
 *
 * The etcd sink's entry is written in the marker's own transaction instead (see the committer), so
 * it waits exactly as long as any commit does — through etcd running out of space, say.
 */
import type { CommitOutcome } from '../commit/committer.js';
import { errorMessage } from '../errors.js';
import { BACKOFF, Backoff, sleep } from '../failure/backoff.js';
import { classify } from '../failure/classify.js';
import { buildDeadLetterRecord, type DeadLetterInput } from './record.js';
import type { DeadLetterSink } from './sink.js';

export interface DeliveryOptions {
  readonly sink: DeadLetterSink;
  /** Commit the record's marker, with the etcd sink's entry when given. */
  commit(deadLetter?: { readonly key: string; readonly value: string }): Promise<CommitOutcome>;
  log(level: 'warn' | 'error', message: string, fields: Record<string, unknown>): void;
  /** Aborted when the route stops. */
  readonly signal: AbortSignal;
  readonly random?: () => number;
}

/** Resolves with the marker's commit outcome, or 'interrupted' when the route stopped first. */
export async function deliverDeadLetter(
  input: DeadLetterInput,
  options: DeliveryOptions,
): Promise<CommitOutcome | 'interrupted'> {
  const { sink } = options;
  const record = buildDeadLetterRecord(input, sink.maxValueBytes);
  options.log('warn', 'dead-lettered', {
    key: input.key,
    revision: record.modRevision,
    errorType: input.errorType,
    error: input.errorMessage,
  });
  if (!sink.send) return options.commit(sink.write?.(record));

  const backoff = new Backoff({
    ...BACKOFF.deadLetter,
    ...(options.random ? { random: options.random } : {}),
  });
  for (;;) {
    try {
      await sink.send(record);
      break;
    } catch (error) {
      if (classify(error).verdict === 'fatal') throw error;
      if (options.signal.aborted) return 'interrupted';
      options.log('error', 'dead-letter send failed; retrying', {
        key: input.key,
        error: errorMessage(error),
      });
      await sleep(backoff.next(), options.signal);
      if (options.signal.aborted) return 'interrupted';
    }
  }
  return options.commit();
}
