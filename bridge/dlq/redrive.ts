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
 *   removal land together, at most once. On SQS the message is deleted after the commit, and the
 *   queue may hold copies of a record (its sends are at least once; a crash between the commit and
 *   the delete leaves the message): the transaction also writes a receipt for the record
 *   (`Keyspace.redriven`, leased for SQS's longest retention), compared absent, so a copy commits
 *   nothing and is dropped as superseded.
 * - Superseded: K's marker is past R (a newer revision of K was applied or dead-lettered since).
 *   Applying R now would overwrite a newer result, breaking per-key order, so the record is
 *   dropped from the queue and reported as superseded; nothing is written.
 * - A record that fails again (function error, bad record, value no longer available, a commit
 *   etcd refuses) stays in the queue with its error, attempts + 1 and lastAttemptAt updated, and
 *   the run goes on with the next record. One attempt per record and run: the operator decides
 *   when to try again. Its outcome carries the real cause, classified (failure/classify.ts); an
 *   etcd call that fails transiently (unavailable, etcd3's circuit breaker open) is tried again
 *   with the redrive backoff first, so a breaker's "circuit is open" never stands for the cause.
 * - The redrive is not the leader and does not take the leader fence: the marker compare is what
 *   keeps it and a running bridge from applying one revision twice or out of order (a bridge that
 *   commits K meanwhile changes the marker and the redrive's transaction fails, or the other way
 *   round, and the loser finds out from the marker).
 */
import type { Etcd3, IRequestOp } from 'etcd3';
import type { Mutation, Route, StageRecord } from '../../shared/index.js';
import { CommitRejectedError, errorMessage } from '../errors.js';
import { compare, mutationOp, op } from '../etcd/ops.js';
import { BACKOFF } from '../failure/backoff.js';
import type { FailureReason, Verdict } from '../failure/classify.js';
import { type Failure, failureOf, failureOfRecord } from '../failure/failure.js';
import { retrying } from '../failure/retrying.js';
import type { Invoker } from '../invoke/invoker.js';
import { buildStageRecord, RouteReads } from '../invoke/stage-record.js';
import { type Keyspace, padRevision } from '../keyspace.js';
import { readSnapshot, type Snapshot } from '../source/snapshot.js';
import {
  type DeadLetterRecord,
  idMatches,
  recordId,
  recordValueBytes,
  sha256Hex,
  withFailedAttempt,
} from './record.js';
import type { DeadLetterEntry, DeadLetterQueue, OnUnreadable } from './sink.js';

/** Why a record failed again: the cause as it came, and what the classifier makes of it. */
export interface RedriveFailure {
  readonly errorType: string;
  readonly message: string;
  readonly verdict: Verdict;
  readonly reason: FailureReason;
}

/** One record's outcome in a redrive run (what `etcd-bridge dlq redrive` prints, one a line). */
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
  /**
   * Failed again. `record` is what the queue now holds (attempts + 1, this failure's error);
   * if the queue could not be updated, `updateFailure` says why and the entry is as it was.
   */
  | {
      readonly kind: 'failed';
      readonly id: string;
      readonly record: DeadLetterRecord;
      readonly failure: RedriveFailure;
      readonly updateFailure?: RedriveFailure;
    }
  /** Left as it is: no such route configured, or the entry changed while we worked on it. */
  | {
      readonly kind: 'skipped';
      readonly id: string;
      readonly record: DeadLetterRecord;
      readonly reason: string;
    };

export type RedriveOutcomeKind = RedriveOutcome['kind'];

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
  /** Told of each entry that is not a record: it is skipped, and left where it is. */
  onUnreadable?: OnUnreadable;
}

/** Attempts at one record's commit when a concurrent change made its transaction fail. */
const COMMIT_TRIES = 3;
/**
 * How long one etcd call that fails transiently is tried again: past a circuit breaker's open
 * window (etcd3's default is 5 s; the bridge's own client's 200 ms).
 */
const ETCD_PATIENCE_MS = 15_000;

/** An etcd call of the redrive, tried again while it fails transiently. */
const patiently = <T>(work: () => Promise<T>): Promise<T> =>
  retrying(work, { patienceMs: ETCD_PATIENCE_MS, backoff: BACKOFF.redrive });

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
        const page = await patiently(() => queue.list(route, pageSize, after, options.onUnreadable));
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

/**
 * Redrive one entry (see the header for what each outcome means). Never throws: whatever goes
 * wrong is this record's outcome, and the run goes on with the next one.
 */
export async function redriveEntry(options: RedriveOptions, entry: DeadLetterEntry): Promise<RedriveOutcome> {
  const record = entry.record;
  const id = recordId(record);
  const route = options.routes.find((r) => r.name === record.route);
  if (!route) return { kind: 'skipped', id, record, reason: `no route named ${record.route} is configured` };
  try {
    return await attempt(options, entry, route);
  } catch (error) {
    return failAgain(options.queue, entry, failureOf(error));
  }
}

/** Up to COMMIT_TRIES rounds of snapshot → value → invoke → commit, while the key's marker moves. */
async function attempt(
  options: RedriveOptions,
  entry: DeadLetterEntry,
  route: Route,
): Promise<RedriveOutcome> {
  const { client, keyspace, queue } = options;
  const record = entry.record;
  const id = recordId(record);
  const readKeys = new RouteReads(route).keysFor(record.key);
  const markerKey = keyspace.applied(route.name, record.key);
  const revision = BigInt(record.modRevision);

  for (let round = 0; round < COMMIT_TRIES; round++) {
    // 1. One snapshot: the key's applied marker, the key itself, what the route reads.
    const snapshot = await patiently(() => readSnapshot(client, [markerKey, record.key, ...readKeys]));
    const marker = snapshot.entries.get(markerKey) ?? null;
    const applied = marker ? BigInt(marker.value.toString('utf8')) : 0n;
    if (applied > revision) {
      await patiently(() => queue.remove(entry));
      return { kind: 'superseded', id, record, appliedRevision: applied.toString() };
    }

    // 2. The record as the bridge would have sent it.
    const value = await recordValue(client, record, snapshot);
    if (!value.ok) return failAgain(queue, entry, value.failure);
    const built = buildStageRecord(
      {
        id: '0',
        type: record.type,
        key: record.key,
        value: value.bytes,
        modRevision: record.modRevision,
        readKeys,
      },
      snapshot,
    );
    if (!built.ok) return failAgain(queue, entry, built.failure);

    // 3. Invoke.
    const answer = await invokeOne(options.invoker, route, built.record);
    if (!answer.ok) return failAgain(queue, entry, answer.failure);

    // 4. Commit: outputs + marker (+ the entry's removal), if nothing moved since the snapshot.
    const committed = await commitOne(options, entry, {
      markerKey,
      markerModRevision: marker?.modRevision ?? '0',
      revision,
      mutations: answer.mutations,
    });
    if (committed !== 'moved') return committed;
    // The marker moved (a bridge committed this key meanwhile): look again.
  }
  return { kind: 'skipped', id, record, reason: `the key kept changing; tried ${COMMIT_TRIES} times` };
}

interface Outputs {
  readonly markerKey: string;
  /** The marker's mod revision as the snapshot saw it ("0": none). */
  readonly markerModRevision: string;
  readonly revision: bigint;
  readonly mutations: readonly Mutation[];
}

/** One transaction: the outcome, or 'moved' when the key's marker moved since the snapshot. */
async function commitOne(
  options: RedriveOptions,
  entry: DeadLetterEntry,
  outputs: Outputs,
): Promise<RedriveOutcome | 'moved'> {
  const { client, queue } = options;
  const { record } = entry;
  const id = recordId(record);
  const removal = queue.removalInTxn?.(entry);
  // A queue that cannot remove the entry in the transaction (SQS) may hold copies of a record (its
  // sends are at least once; a crash after the commit leaves the message): the first redrive of
  // one writes a receipt, and a copy finds it and commits nothing.
  const receipt = removal ? undefined : options.keyspace.redriven(id);
  let succeeded: boolean;
  try {
    const receiptOps = receipt ? [await receiptPut(options, receipt)] : [];
    const result = await patiently(() =>
      client.kv.txn({
        compare: [
          compare.modRevision(outputs.markerKey, outputs.markerModRevision),
          ...(removal?.compares ?? []),
          ...(receipt ? [compare.modRevision(receipt, '0')] : []),
        ],
        success: [
          op.put(outputs.markerKey, padRevision(outputs.revision)),
          ...outputs.mutations.map(mutationOp),
          ...(removal?.ops ?? []),
          ...receiptOps,
        ],
        failure: [],
      }),
    );
    succeeded = result.succeeded;
  } catch (error) {
    // etcd refused it (too large for one request, say): this record's failure, not the run's.
    const rejected = new CommitRejectedError(`etcd refused the commit: ${errorMessage(error)}`, {
      cause: error,
    });
    return failAgain(queue, entry, failureOf(failureOf(error).verdict === 'terminal' ? rejected : error));
  }
  if (succeeded) {
    if (!removal) await patiently(() => queue.remove(entry));
    return { kind: 'redriven', id, record, writes: outputs.mutations.length };
  }
  if (removal && entry.version !== undefined) {
    const now = await patiently(() => client.get(entry.id).exec());
    if (now.kvs[0]?.mod_revision !== entry.version) {
      // Gone, and the marker moved to R since the snapshot: this very transaction was applied and
      // its answer lost (patiently tried it again, and the retry found its own writes), or a
      // concurrent redrive of this entry applied it. Either way it is redriven, once.
      if (now.kvs.length === 0 && (await markerMovedTo(client, outputs)))
        return { kind: 'redriven', id, record, writes: outputs.mutations.length };
      return { kind: 'skipped', id, record, reason: 'the entry changed or went while it was redriven' };
    }
  }
  if (receipt && (await patiently(() => client.get(receipt).exec())).kvs.length > 0) {
    // Redriven before (this message's copy, or this message before a crash): applied; drop it.
    await patiently(() => queue.remove(entry));
    return { kind: 'superseded', id, record, appliedRevision: record.modRevision };
  }
  return 'moved';
}

/** Whether K's marker was rewritten since the snapshot, and now holds the record's revision. */
async function markerMovedTo(client: Etcd3, outputs: Outputs): Promise<boolean> {
  const marker = (await patiently(() => client.get(outputs.markerKey).exec())).kvs[0];
  return (
    marker !== undefined &&
    marker.mod_revision !== outputs.markerModRevision &&
    BigInt(marker.value.toString('utf8')) === outputs.revision
  );
}

/** SQS keeps a message 14 days at most: a receipt need not outlive that. */
export const REDRIVE_RECEIPT_TTL_SECONDS = 14 * 24 * 3600;

const receiptLeases = new WeakMap<RedriveOptions, Promise<string>>();

/** The receipt's put, on one lease per redrive run (granted when the first receipt is written). */
async function receiptPut(options: RedriveOptions, key: string): Promise<IRequestOp> {
  let lease = receiptLeases.get(options);
  if (!lease) {
    lease = patiently(() => options.client.leaseClient.leaseGrant({ TTL: REDRIVE_RECEIPT_TTL_SECONDS })).then(
      (granted) => granted.ID,
    );
    receiptLeases.set(options, lease);
  }
  const put = op.put(key, new Date().toISOString());
  return { request_put: { ...put.request_put, lease: await lease } };
}

type Answer =
  | { readonly ok: true; readonly mutations: readonly Mutation[] }
  | { readonly ok: false; readonly failure: Failure };

async function invokeOne(invoker: Invoker, route: Route, record: StageRecord): Promise<Answer> {
  try {
    const response = await invoker.invoke(route.function, { route: route.name, records: [record] });
    const failure = response.batchItemFailures[0];
    if (failure) return { ok: false, failure: failureOfRecord(failure) };
    return { ok: true, mutations: response.results[0]?.mutations ?? [] };
  } catch (error) {
    return { ok: false, failure: failureOf(error) };
  }
}

type Value =
  | { readonly ok: true; readonly bytes: Buffer | null }
  | { readonly ok: false; readonly failure: Failure };

/** The record's value: from the record, or from etcd when the record left it out for size. */
async function recordValue(client: Etcd3, record: DeadLetterRecord, snapshot: Snapshot): Promise<Value> {
  const kept = recordValueBytes(record);
  if (kept !== undefined) return { ok: true, bytes: kept };
  const current = snapshot.entries.get(record.key);
  const bytes =
    current && current.modRevision === record.modRevision
      ? current.value
      : await valueAtRevision(client, record.key, record.modRevision);
  const unavailable = (message: string): Value => ({
    ok: false,
    failure: { verdict: 'terminal', reason: 'bad-record', errorType: 'ValueUnavailable', message },
  });
  if (bytes === undefined)
    return unavailable(
      `the record left its ${record.valueSize}-byte value out and etcd no longer has ${record.key} at revision ${record.modRevision}`,
    );
  if (sha256Hex(bytes) !== record.valueSha256)
    return unavailable(`${record.key} at revision ${record.modRevision} does not match the record's sha256`);
  return { ok: true, bytes };
}

/** The record stays in the queue with this failure and one more attempt. */
async function failAgain(
  queue: DeadLetterQueue,
  entry: DeadLetterEntry,
  failure: Failure,
): Promise<RedriveOutcome> {
  const id = recordId(entry.record);
  const cause = redriveFailure(failure);
  const updated = withFailedAttempt(entry.record, failure.errorType, `${failure.message} (redrive)`);
  try {
    await patiently(() => queue.replace(entry, updated));
  } catch (error) {
    return {
      kind: 'failed',
      id,
      record: entry.record,
      failure: cause,
      updateFailure: redriveFailure(failureOf(error)),
    };
  }
  return { kind: 'failed', id, record: updated, failure: cause };
}

function redriveFailure(failure: Failure): RedriveFailure {
  return {
    errorType: failure.errorType,
    message: failure.message,
    verdict: failure.verdict,
    reason: failure.reason,
  };
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
