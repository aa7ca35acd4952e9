/**
 * Group commit: the outputs of many records in one etcd transaction, together with each record's
 * applied marker and its route's checkpoint, guarded by the leader fence and by the markers.
 *
 * A record commits only if its applied marker is still what it was when the batch read it, so a
 * redelivered record (after a crash, a resync, a retried transaction whose answer was lost) commits
 * nothing. Transactions run one at a time: while one is in flight the next one fills up, which is
 * what lets many records share one fsync.
 *
 * Hand-off: puts under a prefix another route watches (`HandOffTarget.consumes`) ask etcd for the
 * key's previous value (`prev_kv`); once the transaction has committed (one revision), each is
 * offered to the route that consumes it, so that route need not wait for the watch to bring it back.
 */
import type { Etcd3, ICompare, IRequestOp, ITxnResponse } from 'etcd3';
import type { Mutation } from '../../shared/index.js';
import { CommitRejectedError, errorMessage, LeadershipLostError } from '../errors.js';
import { compare, MAX_TXN_OPS, mutationOp, op } from '../etcd/ops.js';
import { BACKOFF, Backoff, sleep } from '../failure/backoff.js';
import { classify, isPressure } from '../failure/classify.js';
import { FailureTally } from '../failure/tally.js';
import { padRevision } from '../keyspace.js';
import type { Leadership } from '../leader.js';
import type { Snapshot, SnapshotEntry } from '../source/snapshot.js';
import type { CommittedPut } from '../worker/hand-off.js';
import { CommitPressure, type PressureEpisode, type PressureLog } from './pressure.js';

export type CommitOutcome = 'committed' | 'already-applied';

export interface CommitRequest {
  readonly route: string;
  readonly sourceKey: string;
  readonly revision: bigint;
  readonly markerKey: string;
  /**
   * The marker's mod revision as the batch read it ("0": it did not exist), or undefined when the
   * batch did not read it (a route that reads nothing: see `markerCompare`).
   */
  markerModRevision: string | undefined;
  readonly mutations: readonly Mutation[];
  /** A dead-letter record written with the marker (the etcd sink). */
  readonly deadLetter?: { readonly key: string; readonly value: string };
  /** The route's queue item, for the checkpoint. */
  readonly item: object;
}

/** The checkpoint a route may record once `finishing` (its records in this transaction) are done. */
export type CheckpointProvider = (route: string, finishing: ReadonlySet<object>) => bigint | undefined;

interface Pending {
  readonly request: CommitRequest;
  resolve(outcome: CommitOutcome): void;
  reject(error: unknown): void;
}

/** Where committed outputs that another route consumes go (bridge.ts: the consuming routes). */
export interface HandOffTarget {
  /** True when some route watches `key` (its put then asks for `prev_kv`). */
  consumes(key: string): boolean;
  /** Called once a transaction has committed, with its puts that some route consumes. */
  offer(puts: readonly CommittedPut[]): void;
  /** What the consuming route reads for a record of `key` (its marker and its reads). */
  readsFor(key: string): readonly string[];
}

export interface CommitterOptions {
  /** etcd's --max-txn-ops; etcd's default (128) when absent. */
  readonly maxOps?: number;
  /** Where a pressure episode (etcd out of space, too many requests) is told. */
  readonly log?: PressureLog;
  /** The commit backoff's jitter source (tests). */
  readonly random?: () => number;
  /** Hand committed outputs to the routes that consume them (config `handOff`); none when absent. */
  readonly handOff?: HandOffTarget;
}

/** Markers whose last write the committer remembers (an evicted one is only compared less exactly). */
export const KNOWN_MARKERS = 10_000;

export interface CommitterStats {
  transactions: number;
  records: number;
  conflicts: number;
  errors: number;
}

export class Committer {
  private queue: Pending[] = [];
  private running = false;
  private readonly checkpoints = new Map<string, bigint>();
  /**
   * Checkpoints sent in a transaction whose answer never came: etcd may hold them. None is written
   * again at or below one of these, so a checkpoint never goes backwards in etcd.
   */
  private readonly checkpointsMaybeWritten = new Map<string, bigint>();
  private readonly idleWaiters: Array<() => void> = [];
  readonly stats: CommitterStats = { transactions: 0, records: 0, conflicts: 0, errors: 0 };
  /** Failed transactions by classification, for `etcd_bridge_commit_failures_total`. */
  readonly failures = new FailureTally();
  private readonly maxOps: number;
  private readonly pressure: CommitPressure;
  private readonly backoff: Backoff;
  private readonly handOff: HandOffTarget | undefined;
  private committedRevision = 0n;
  /** Marker key → the revision of this committer's last transaction that wrote it. */
  private readonly knownMarkers = new Map<string, string>();
  /** The transaction in flight that will offer puts: their keys, and when it has answered. */
  private offering: { readonly keys: ReadonlySet<string>; readonly answered: Promise<void> } | undefined;
  /** The last checkpoint flush was refused for pressure: checkpoints wait too. */
  private checkpointsHeld = false;

  constructor(
    private readonly client: Etcd3,
    private readonly leadership: Leadership,
    private readonly checkpointKey: (route: string) => string,
    private readonly checkpointFor: CheckpointProvider,
    options: CommitterOptions = {},
  ) {
    this.maxOps = options.maxOps ?? MAX_TXN_OPS;
    this.pressure = new CommitPressure(options.log);
    this.handOff = options.handOff;
    this.backoff = new Backoff({ ...BACKOFF.commit, ...(options.random ? { random: options.random } : {}) });
  }

  /**
   * While etcd refuses writes for pressure (out of space, too many requests) and something waits
   * for it (records to commit, checkpoints to write): why, since when. An episode with nothing
   * waiting pauses nothing; the next write etcd takes ends it.
   */
  get paused(): PressureEpisode | undefined {
    return this.pendingCount > 0 || this.checkpointsHeld ? this.pressure.current : undefined;
  }

  /**
   * The revision of the last transaction this committer committed (0 before the first): every
   * write of this bridge's records, and (it commits only once elected) every write of a bridge
   * that led before it, is at or below it.
   */
  get lastRevision(): bigint {
    return this.committedRevision;
  }

  /** The last checkpoint committed per route. */
  lastCheckpoint(route: string): bigint | undefined {
    return this.checkpoints.get(route);
  }

  /** Start from the checkpoint read at start-up, so it is never written backwards. */
  setCheckpoint(route: string, revision: bigint): void {
    this.checkpoints.set(route, revision);
  }

  get pendingCount(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  submit(request: CommitRequest): Promise<CommitOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (!this.running) void this.run();
    });
  }

  /**
   * Write checkpoints that moved without any record to commit (filtered or skipped events). While
   * etcd refuses writes for pressure this is tried again each time (a refused flush is no news:
   * the episode was told already), and the first flush etcd takes ends the episode.
   */
  async flushCheckpoints(routes: readonly string[]): Promise<void> {
    if (this.running || this.queue.length > 0) return;
    const ops = this.checkpointOps(routes, new Map());
    this.checkpointsHeld = false;
    if (ops.puts.length === 0) return;
    this.running = true;
    try {
      const result = await this.sent(ops.revisions, () =>
        this.client.kv.txn({ compare: [this.leadership.fence()], success: ops.puts, failure: [] }),
      );
      if (!result.succeeded) this.leadershipLost();
      this.committed(result.header.revision);
      for (const [route, revision] of ops.revisions) this.checkpoints.set(route, revision);
      this.pressure.accepted();
    } catch (error) {
      const classification = classify(error);
      this.failures.count(classification);
      if (!isPressure(classification)) throw error;
      this.pressure.refused(classification, error);
      this.checkpointsHeld = true;
    } finally {
      this.running = false;
      if (this.queue.length > 0) void this.run();
      else this.notifyIdle();
    }
  }

  /**
   * While the transaction in flight puts one of `keys` that it will offer: resolves once it has
   * answered (and offered what it committed). A route whose watch brought such a record first waits
   * for this instead of reading: the offer brings the reads (`CommittedPut.snapshot`).
   */
  offerPending(keys: Iterable<string>): Promise<void> | undefined {
    const offering = this.offering;
    if (!offering) return undefined;
    for (const key of keys) if (offering.keys.has(key)) return offering.answered;
    return undefined;
  }

  /**
   * Whether this committer may have written `markerKey` after `revision`. Every write of a route
   * for a record goes with the record's marker, so false means a snapshot at `revision` holds
   * every write this bridge made for that record's key. A marker it no longer remembers counts as
   * written since (unless nothing at all was committed since).
   */
  wroteMarkerSince(markerKey: string, revision: bigint): boolean {
    if (this.committedRevision <= revision) return false;
    const known = this.knownMarkers.get(markerKey);
    return known === undefined || BigInt(known) > revision;
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        if (this.leadership.lost) {
          this.failAll(this.leadership.lost);
          break;
        }
        const batch = this.takeBatch();
        try {
          await this.commit(batch);
          this.backoff.reset();
          this.pressure.accepted();
        } catch (error) {
          if (!(await this.failed(batch, error))) break;
        }
      }
    } finally {
      this.running = false;
      if (this.queue.length === 0) this.notifyIdle();
    }
  }

  /** A transaction failed: what it means for its batch. False when the committer must stop. */
  private async failed(batch: Pending[], error: unknown): Promise<boolean> {
    const classification = classify(error);
    this.failures.count(classification);
    switch (classification.verdict) {
      case 'fatal':
        // Leadership lost (or etcd refuses our credentials): nothing more can commit.
        for (const p of batch) p.reject(error);
        this.failAll(error);
        return false;
      case 'terminal':
        // etcd refuses this transaction as such (a value over its request size limit): retrying
        // it would block every key behind it. Commit the records one by one; the one etcd
        // refuses alone is rejected, for its route to dead-letter.
        return this.isolate(batch, error);
      case 'retry':
        // etcd unavailable, out of space, too many requests, or the answer lost: the batch goes
        // back, in order, and is tried again after the backoff. If it did commit, the markers now
        // say so and the retry resolves it as already applied.
        this.stats.errors++;
        if (isPressure(classification)) this.pressure.refused(classification, error);
        this.queue = [...batch, ...this.queue];
        await sleep(this.backoff.next());
        return true;
    }
  }

  /** One record at a time, after a transaction etcd refused as such. False when the committer must stop. */
  private async isolate(batch: Pending[], batchError: unknown): Promise<boolean> {
    if (batch.length === 1) {
      batch[0]!.reject(
        new CommitRejectedError(`etcd refused the commit: ${errorMessage(batchError)}`, {
          cause: batchError,
        }),
      );
      return true;
    }
    for (let i = 0; i < batch.length; i++) {
      const single = batch[i]!;
      try {
        await this.commit([single]);
        this.backoff.reset();
        this.pressure.accepted();
      } catch (error) {
        const classification = classify(error);
        if (classification.verdict === 'terminal') {
          this.failures.count(classification);
          single.reject(
            new CommitRejectedError(`etcd refused the commit: ${errorMessage(error)}`, { cause: error }),
          );
          continue;
        }
        // Anything else (leadership, etcd unavailable or full) is handled here, as the main loop
        // handles it: with the backoff, the pressure episode, or a stop. Handing the rest back
        // unhandled would only rebuild the refused transaction, at once and forever.
        return this.failed(batch.slice(i), error);
      }
    }
    return true;
  }

  /** As many queued requests as fit one transaction, in order, with no key written twice. */
  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const written = new Set<string>();
    const routes = new Set<string>();
    let compares = 1; // the fence
    let ops = 0;
    // etcd checks a nested transaction (a conditional delete) against what the outer one leaves of
    // the limit: max(compares, ops) + the nested one's size <= --max-txn-ops. Without this margin a
    // full batch with a conditional delete is refused ("too many operations in txn request") on
    // every retry, and the committer stalls for good (seen after an etcd restart left a backlog).
    let nested = 0;
    while (batch.length < this.queue.length) {
      const next = this.queue[batch.length]!;
      const keys = keysWritten(next.request);
      const checkpointOps = routes.has(next.request.route) ? 0 : 1;
      const needed = keys.length + checkpointOps;
      const limit = this.maxOps - Math.max(nested, nestedOps(next.request));
      if (batch.length > 0 && (compares + 1 > limit || ops + needed > limit)) break;
      if (keys.some((k) => written.has(k))) break;
      for (const k of keys) written.add(k);
      nested = Math.max(nested, nestedOps(next.request));
      routes.add(next.request.route);
      compares++;
      ops += needed;
      batch.push(next);
    }
    this.queue = this.queue.slice(batch.length);
    return batch;
  }

  private async commit(batch: Pending[]): Promise<void> {
    const compares: ICompare[] = [this.leadership.fence()];
    const success: IRequestOp[] = [];
    const finishing = new Map<string, Set<object>>();
    /** Indexes in `success` of the puts another route consumes (they ask for `prev_kv`). */
    const offered: number[] = [];
    for (const { request } of batch) {
      compares.push(this.markerCompare(request));
      success.push(op.put(request.markerKey, padRevision(request.revision)));
      for (const mutation of request.mutations) {
        const operation = mutationOp(mutation);
        if (operation.request_put && this.handOff?.consumes(mutation.key)) {
          operation.request_put.prev_kv = true;
          offered.push(success.length);
        }
        success.push(operation);
      }
      if (request.deadLetter) success.push(op.put(request.deadLetter.key, request.deadLetter.value));
      const items = finishing.get(request.route) ?? new Set<object>();
      items.add(request.item);
      finishing.set(request.route, items);
    }
    const checkpoint = this.checkpointOps([...finishing.keys()], finishing);
    success.push(...checkpoint.puts);
    const reads = this.readsForOffers(success, offered, batch);

    let answered = () => {};
    if (offered.length > 0)
      this.offering = {
        keys: new Set(offered.map((index) => success[index]!.request_put!.key!.toString('utf8'))),
        answered: new Promise<void>((resolve) => (answered = resolve)),
      };
    try {
      const result = await this.sent(checkpoint.revisions, () =>
        this.client.kv.txn({ compare: compares, success, failure: [] }),
      );
      if (result.succeeded) {
        this.stats.transactions++;
        this.stats.records += batch.length;
        for (const [route, revision] of checkpoint.revisions) this.checkpoints.set(route, revision);
        this.committed(result.header.revision);
        for (const { request } of batch) this.rememberMarker(request.markerKey, result.header.revision);
        if (offered.length > 0) this.offer(success, offered, reads, result);
        for (const p of batch) p.resolve('committed');
        return;
      }
    } finally {
      this.offering = undefined;
      answered();
    }
    await this.resolveConflicts(batch);
  }

  /**
   * The consuming routes' reads for the puts offered, appended to the transaction's success ops
   * (after every write, so they read at the transaction's revision, its own writes included), as
   * far as the operation limit leaves room: a full transaction carries none, and its records are
   * read by their route as usual. Returns which offered puts got their reads, and where they start.
   */
  private readsForOffers(
    success: IRequestOp[],
    offered: readonly number[],
    batch: readonly Pending[],
  ): { readonly from: number; readonly keys: readonly string[]; readonly covered: ReadonlySet<number> } {
    const from = success.length;
    const keys: string[] = [];
    const covered = new Set<number>();
    if (!this.handOff || offered.length === 0) return { from, keys, covered };
    // The same bound as takeBatch: max(compares, ops) + the largest nested transaction <= the limit.
    const nested = Math.max(0, ...batch.map((p) => nestedOps(p.request)));
    const seen = new Set<string>();
    let room = this.maxOps - nested - success.length;
    for (const index of offered) {
      const key = success[index]!.request_put!.key!.toString('utf8');
      const wanted = this.handOff.readsFor(key).filter((k) => !seen.has(k));
      if (wanted.length > room) break;
      for (const k of wanted) {
        seen.add(k);
        keys.push(k);
        success.push(op.get(k));
      }
      room -= wanted.length;
      covered.add(index);
    }
    return { from, keys, covered };
  }

  /**
   * The compare that lets a record commit only if it is not applied yet. With the marker's mod
   * revision as the batch read it: that exact revision (nothing committed the key since). Without
   * a read: the revision of this committer's own last write of the marker, when it remembers one
   * (only this bridge commits while it leads; a redrive that wrote the marker since fails the
   * compare, and the conflict reads it). Otherwise `mod_revision < the record's revision`: a marker
   * last written before the record existed cannot say it is applied (a marker holds the revision of
   * a record committed after that record was written), and a key that has none has mod revision 0.
   * A marker written after the record (its own commit, or an older record's committed late) fails
   * this compare, and `resolveConflicts` reads what it says. The compare only ever errs towards a
   * conflict, never towards a second commit.
   */
  private markerCompare(request: CommitRequest): ICompare {
    const known = request.markerModRevision ?? this.knownMarkers.get(request.markerKey);
    return known !== undefined
      ? compare.modRevision(request.markerKey, known)
      : compare.modRevisionBelow(request.markerKey, request.revision.toString());
  }

  private rememberMarker(markerKey: string, modRevision: string): void {
    // Re-inserted, so the Map's order is least recently written first: the eviction order.
    this.knownMarkers.delete(markerKey);
    this.knownMarkers.set(markerKey, modRevision);
    if (this.knownMarkers.size > KNOWN_MARKERS) {
      const oldest = this.knownMarkers.keys().next();
      if (!oldest.done) this.knownMarkers.delete(oldest.value);
    }
  }

  /** A compare failed: find out which, settle what is settled, and queue the rest again. */
  private async resolveConflicts(batch: Pending[]): Promise<void> {
    this.stats.conflicts++;
    const reads = await this.client.kv.txn({
      compare: [],
      success: [op.get(this.leadership.campaignKey), ...batch.map((p) => op.get(p.request.markerKey))],
      failure: [],
    });
    const fenceKv = reads.responses[0]?.response_range.kvs[0];
    if (!fenceKv || fenceKv.create_revision !== this.leadership.createRevision) this.leadershipLost();
    // A marker found applied may be this committer's own write whose answer was lost (etcd applied
    // the transaction; the retry met its markers). Its outputs are then above `lastRevision`: a
    // snapshot read at that revision would miss them, and the key's next record would be computed
    // from the state before them. This read is at or after every write it sees.
    this.committed(reads.header.revision);
    const retry: Pending[] = [];
    const settled: Array<[Pending, string]> = [];
    batch.forEach((p, i) => {
      const marker = reads.responses[i + 1]?.response_range.kvs[0];
      const applied = marker ? BigInt(marker.value.toString('utf8')) : 0n;
      // Remembered only once settled: should the checkpoint read below fail, the batch is sent
      // again, and a record that read no marker compares with what this committer remembers. Its
      // marker as found would pass that compare, and the record would commit a second time.
      if (marker && applied >= p.request.revision) settled.push([p, marker.mod_revision]);
      else {
        p.request.markerModRevision = marker ? marker.mod_revision : '0';
        this.rememberMarker(p.request.markerKey, p.request.markerModRevision);
        retry.push(p);
      }
    });
    // etcd3 sends a call again after a recoverable error (its default policy) without a word: the
    // transaction may have been applied on an attempt whose answer was lost, its checkpoints with
    // it. Learn what etcd holds before any later checkpoint is computed, so none goes below it.
    if (settled.length > 0) await this.learnCheckpoints(new Set(settled.map(([p]) => p.request.route)));
    for (const [p, markerModRevision] of settled) {
      this.rememberMarker(p.request.markerKey, markerModRevision);
      p.resolve('already-applied');
    }
    this.queue = [...retry, ...this.queue];
  }

  /** Raise the last checkpoint known of each route to what etcd holds. */
  private async learnCheckpoints(routes: ReadonlySet<string>): Promise<void> {
    const names = [...routes];
    const stored = await this.client.kv.txn({
      compare: [],
      success: names.map((route) => op.get(this.checkpointKey(route))),
      failure: [],
    });
    names.forEach((route, i) => {
      const kv = stored.responses[i]?.response_range.kvs[0];
      if (!kv) return;
      const revision = BigInt(kv.value.toString('utf8'));
      const last = this.checkpoints.get(route);
      if (last === undefined || revision > last) this.checkpoints.set(route, revision);
    });
  }

  private checkpointOps(routes: readonly string[], finishing: Map<string, Set<object>>) {
    const puts: IRequestOp[] = [];
    const revisions: Array<[string, bigint]> = [];
    for (const route of routes) {
      const candidate = this.checkpointFor(route, finishing.get(route) ?? new Set());
      if (candidate === undefined) continue;
      const last = this.checkpoints.get(route);
      if (last !== undefined && candidate <= last) continue;
      const maybe = this.checkpointsMaybeWritten.get(route);
      if (maybe !== undefined && candidate <= maybe) continue;
      puts.push(op.put(this.checkpointKey(route), padRevision(candidate)));
      revisions.push([route, candidate]);
    }
    return { puts, revisions };
  }

  /** The committed puts another route consumes, each with its key's previous mod revision. */
  private offer(
    success: readonly IRequestOp[],
    offered: readonly number[],
    reads: ReturnType<Committer['readsForOffers']>,
    result: ITxnResponse,
  ): void {
    const revision = BigInt(result.header.revision);
    const snapshot = reads.keys.length > 0 ? snapshotOf(reads.keys, reads.from, result) : undefined;
    const puts: CommittedPut[] = [];
    for (const index of offered) {
      const request = success[index]?.request_put;
      const response = result.responses[index]?.response_put;
      // No answer for the put (never seen from etcd): not offered; the watch brings it.
      if (!request?.key || !request.value || !response) continue;
      const previous = response.prev_kv;
      puts.push({
        key: request.key.toString('utf8'),
        value: request.value,
        revision,
        prevModRevision: previous ? BigInt(previous.mod_revision) : undefined,
        ...(snapshot && reads.covered.has(index) ? { snapshot } : {}),
      });
    }
    try {
      if (puts.length > 0) this.handOff?.offer(puts);
    } catch {
      // An offer is an optimisation: whatever goes wrong there, the watch brings the records.
    }
  }

  /**
   * Runs a transaction carrying these checkpoints. If it fails without etcd's refusal (etcd out of
   * reach, the answer lost), etcd may have applied them all the same.
   */
  private async sent<T>(checkpoints: ReadonlyArray<[string, bigint]>, txn: () => Promise<T>): Promise<T> {
    try {
      return await txn();
    } catch (error) {
      const classification = classify(error);
      if (classification.verdict !== 'retry' || isPressure(classification)) throw error;
      for (const [route, revision] of checkpoints) {
        const maybe = this.checkpointsMaybeWritten.get(route);
        if (maybe === undefined || revision > maybe) this.checkpointsMaybeWritten.set(route, revision);
      }
      throw error;
    }
  }

  private committed(revision: string): void {
    const at = BigInt(revision);
    if (at > this.committedRevision) this.committedRevision = at;
  }

  private leadershipLost(): never {
    // The leadership says what became of its election key (the log must tell the truth).
    this.leadership.fenceFailed();
    throw new LeadershipLostError('commit fence failed: this bridge no longer holds its election key');
  }

  private failAll(error: unknown): void {
    const queued = this.queue;
    this.queue = [];
    for (const p of queued) p.reject(error);
  }

  private notifyIdle(): void {
    for (const waiter of this.idleWaiters.splice(0)) waiter();
  }
}

/** The reads at `from` onwards of a transaction's answer, as a snapshot at its revision. */
function snapshotOf(keys: readonly string[], from: number, result: ITxnResponse): Snapshot | undefined {
  const entries = new Map<string, SnapshotEntry | null>();
  for (let i = 0; i < keys.length; i++) {
    const range = result.responses[from + i]?.response_range;
    if (!range) return undefined; // an answer without the reads: none offered (the route reads)
    const kv = range.kvs[0];
    entries.set(keys[i]!, kv ? { value: kv.value, modRevision: kv.mod_revision } : null);
  }
  return { revision: BigInt(result.header.revision), entries };
}

/** The size of the largest nested transaction the request's mutations make (a conditional delete: 1). */
function nestedOps(request: CommitRequest): number {
  return request.mutations.some((m) => m.op === 'delete' && m.ifModRevision !== undefined) ? 1 : 0;
}

function keysWritten(request: CommitRequest): string[] {
  const keys = [request.markerKey, ...request.mutations.map((m) => m.key)];
  if (request.deadLetter) keys.push(request.deadLetter.key);
  return keys;
}
