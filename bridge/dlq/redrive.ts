/**
 * Redrive: run dead-lettered records through their route's function again.
 *
 * Semantics (DESIGN §4 invariants 2, 3 and 7):
 *
 * - A record dead-lettered at revision R of key K is run through its route's function (from the
 *   configuration, by the record's route name) with the record's value, and with the route's reads
 *   taken now, from one etcd snapshot together with K's applied marker. When the record left its
 *   value out for size, K's value at R is read from etcd: the current value if K is still at R, or
 *   etcd's history at R if not compacted yet; its sha256 must match the record's.
 * - Its outputs commit in ONE etcd transaction that compares K's applied marker is still where that
 *   snapshot saw it, and not past R, and that sets the marker to R. On the etcd sink the same
 *   transaction deletes the dead-letter entry (compared unchanged since listed): outputs and
 *   removal land together, at most once. On SQS the message is deleted after the commit, so a
 *   crash in between leaves it to be redriven again (SQS is at-least-once; a record's outputs are
 *   a pure function of it and its reads, so doing it twice writes the same values).
 * - Superseded: K's marker is past R (a newer revision of K was applied or dead-lettered since).
 *   Applying R now would overwrite a newer result, breaking per-key order, so the record is
 *   dropped from the queue and reported as superseded; nothing is written.
 * - A record that fails again (function error, bad record, value no longer available) stays in
 *   the queue with its error, attempts + 1 and lastAttemptAt updated. One attempt per record and
 *   run: the operator decides when to try again.
 * - The redrive is not the leader and does not take the leader fence: the marker compare is what
 *   keeps it and a running bridge from applying one revision twice or out of order (a bridge that
 *   commits K meanwhile changes the marker and the redrive's transaction fails, or the other way
 *   round, and the loser finds out from the marker).
 */
import type { Etcd3, IRequestOp } from 'etcd3';
import { compileKeyPattern, type Mutation, type Route, type StageRecord } from '../../shared/index.js';
import { errorMessage, InvokeError } from '../errors.js';
import { compare, op } from '../etcd/ops.js';
import type { Invoker } from '../invoke/invoker.js';
import { type Keyspace, padRevision } from '../keyspace.js';
import { readSnapshot } from '../source/snapshot.js';
import {
  type DeadLetterRecord,
  idMatches,
  recordId,
  recordValueBytes,
  sha256Hex,
  withFailedAttempt,
} from './record.js';
import type { DeadLetterEntry, DeadLetterQueue } from './sink.js';

export type RedriveOutcome =
  /** The outputs are committed and the entry is gone. */
  | {
      readonly kind: 'redriven';
      readonly id: string;
      readonly record: DeadLetterRecord;
      readonly writes: number;
    }
  /** A newer revision of the key was applied since: dropped, nothing written. */
  | {
      readonly kind: 'superseded';
      readonly id: string;
      readonly record: DeadLetterRecord;
      readonly appliedRevision: string;
    }
  /** Failed again: still in the queue, with attempts + 1. */
  | { readonly kind: 'failed'; readonly id: string; readonly record: DeadLetterRecord }
  /** Left as it is: no such route configured, or the entry changed while we worked on it. */
  | {
      readonly kind: 'skipped';
      readonly id: string;
      readonly record: DeadLetterRecord;
      readonly reason: string;
    };

export interface RedriveOptions {
  readonly client: Etcd3;
  readonly keyspace: Keyspace;
  readonly queue: DeadLetterQueue;
  readonly invoker: Invoker;
  readonly routes: readonly Route[];
  /** Only this route's records. */
  readonly route?: string;
  /** Only this record: its id (`recordId`) or a unique `<route>/<revision>`. */
  readonly id?: string;
  /** Entries listed at once. */
  readonly pageSize?: number;
  onProgress?(done: number, total: number): void;
}

const decoder = new TextDecoder('utf-8', { fatal: true });
/** Attempts at one record's commit when a concurrent change made its transaction fail. */
const COMMIT_TRIES = 3;

export async function redrive(options: RedriveOptions): Promise<RedriveOutcome[]> {
  const { queue } = options;
  const routes = options.route === undefined ? options.routes.map((r) => r.name) : [options.route];
  let total = 0;
  for (const route of routes) total += await queue.count(route).catch(() => 0);
  const outcomes: RedriveOutcome[] = [];
  const seen = new Set<string>();
  const leftAlone: DeadLetterEntry[] = [];
  const pageSize = options.pageSize ?? 50;
  options.onProgress?.(0, total);
  try {
    for (const route of routes) {
      let after: string | undefined;
      for (;;) {
        const page = await queue.list(route, pageSize, after);
        if (page.length === 0) break;
        after = page.at(-1)?.id;
        let fresh = 0;
        for (const entry of page) {
          const id = recordId(entry.record);
          // SQS: a record replaced after failing again comes back as a new message; once a run.
          if (seen.has(id) || (options.id !== undefined && !idMatches(entry.record, options.id))) {
            if (!seen.has(id)) fresh++;
            seen.add(id);
            // Only a receiving queue (SQS) hid it; an etcd listing took nothing away.
            if (queue.kind === 'sqs') leftAlone.push(entry);
            continue;
          }
          fresh++;
          seen.add(id);
          outcomes.push(await redriveEntry(options, entry));
          options.onProgress?.(outcomes.length, Math.max(total, outcomes.length));
        }
        if (fresh === 0) break;
      }
    }
  } finally {
    await queue.release(leftAlone);
  }
  return outcomes;
}

/** Redrive one entry (see the header for what each outcome means). */
export async function redriveEntry(options: RedriveOptions, entry: DeadLetterEntry): Promise<RedriveOutcome> {
  const { client, keyspace, queue, invoker } = options;
  const record = entry.record;
  const id = recordId(record);
  const route = options.routes.find((r) => r.name === record.route);
  if (!route) return { kind: 'skipped', id, record, reason: `no route named ${record.route} is configured` };

  const failAgain = async (errorType: string, message: string): Promise<RedriveOutcome> => {
    const updated = withFailedAttempt(record, errorType, `${message} (redrive)`);
    try {
      await queue.replace(entry, updated);
    } catch (error) {
      return {
        kind: 'skipped',
        id,
        record,
        reason: `failed again, but could not update it: ${errorMessage(error)}`,
      };
    }
    return { kind: 'failed', id, record: updated };
  };

  const parts = compileKeyPattern(route.keyPattern).match(record.key);
  const readKeys = parts ? route.reads.map((template) => compileKeyPattern(template).build(parts)) : [];
  const markerKey = keyspace.applied(route.name, record.key);
  const revision = BigInt(record.modRevision);

  for (let attempt = 0; attempt < COMMIT_TRIES; attempt++) {
    // 1. One snapshot: the key's applied marker, the key itself, what the route reads.
    const snapshot = await readSnapshot(client, [markerKey, record.key, ...readKeys]);
    const marker = snapshot.entries.get(markerKey) ?? null;
    const applied = marker ? BigInt(marker.value.toString('utf8')) : 0n;
    if (applied > revision) {
      await queue.remove(entry);
      return { kind: 'superseded', id, record, appliedRevision: applied.toString() };
    }

    // 2. The value: from the record, or from etcd when the record left it out for size.
    let value = recordValueBytes(record);
    if (value === undefined) {
      const current = snapshot.entries.get(record.key);
      value =
        current && current.modRevision === record.modRevision
          ? current.value
          : await valueAtRevision(client, record.key, record.modRevision);
      if (value === undefined)
        return failAgain(
          'ValueUnavailable',
          `the record left its ${record.valueSize}-byte value out and etcd no longer has ${record.key} at revision ${record.modRevision}`,
        );
      if (sha256Hex(value) !== record.valueSha256)
        return failAgain(
          'ValueUnavailable',
          `${record.key} at revision ${record.modRevision} does not match the record's sha256`,
        );
    }
    let text: string | null = null;
    if (value !== null) {
      try {
        text = decoder.decode(value);
      } catch {
        return failAgain('RecordValidationError', `${record.key}: value: is not valid UTF-8`);
      }
    }
    const reads: Record<string, string | null> = {};
    for (const key of readKeys) {
      const entryAt = snapshot.entries.get(key);
      reads[key] = entryAt ? entryAt.value.toString('utf8') : null;
    }

    // 3. Invoke.
    const stageRecord: StageRecord = {
      id: '0',
      type: record.type,
      key: record.key,
      value: text,
      modRevision: record.modRevision,
      reads,
    };
    let mutations: readonly Mutation[];
    try {
      const response = await invoker.invoke(route.function, { route: route.name, records: [stageRecord] });
      const failure = response.batchItemFailures[0];
      if (failure) return failAgain(failure.errorType ?? 'FunctionRecordError', failure.error);
      mutations = response.results[0]?.mutations ?? [];
    } catch (error) {
      const kind = error instanceof InvokeError ? error.kind : error instanceof Error ? error.name : 'Error';
      return failAgain(kind, errorMessage(error));
    }

    // 4. Commit: outputs + marker (+ the entry's removal), if nothing moved since the snapshot.
    const removal = queue.removalInTxn?.(entry);
    let result: Awaited<ReturnType<typeof client.kv.txn>>;
    try {
      result = await client.kv.txn({
        compare: [compare.modRevision(markerKey, marker?.modRevision ?? '0'), ...(removal?.compares ?? [])],
        success: [
          op.put(markerKey, padRevision(revision)),
          ...mutations.map(mutationOp),
          ...(removal?.ops ?? []),
        ],
        failure: [],
      });
    } catch (error) {
      // etcd refused it (too large for one request, say): this record's failure, not the run's.
      return failAgain(
        error instanceof Error ? error.name : 'Error',
        `commit failed: ${errorMessage(error)}`,
      );
    }
    if (result.succeeded) {
      if (!removal) await queue.remove(entry);
      return { kind: 'redriven', id, record, writes: mutations.length };
    }
    if (removal && entry.version !== undefined) {
      const now = await client.get(entry.id).exec();
      if (now.kvs[0]?.mod_revision !== entry.version)
        return { kind: 'skipped', id, record, reason: 'the entry changed or went while it was redriven' };
    }
    // The marker moved (a bridge committed this key meanwhile): look again.
  }
  return { kind: 'skipped', id, record, reason: `the key kept changing; tried ${COMMIT_TRIES} times` };
}

async function valueAtRevision(client: Etcd3, key: string, revision: string): Promise<Buffer | undefined> {
  try {
    const response = await client.get(key).revision(revision).exec();
    const kv = response.kvs[0];
    return kv && kv.mod_revision === revision ? kv.value : undefined;
  } catch {
    // Compacted away (or etcd refused): the value is gone.
    return undefined;
  }
}

function mutationOp(mutation: Mutation): IRequestOp {
  if (mutation.op === 'put') return op.put(mutation.key, mutation.value);
  return mutation.ifModRevision === undefined
    ? op.delete(mutation.key)
    : op.deleteIfAt(mutation.key, mutation.ifModRevision);
}
