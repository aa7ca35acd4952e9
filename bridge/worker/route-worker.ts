/**
 * One route at work: source (PrefixWatch, or a resync) → per-key queue → batch (snapshot read,
 * invoke: `runBatch`) → `settle` → the outcome applied here, in one switch: commit, retry later,
 * block, dead-letter (`dlq/delivery`), or stop the bridge.
 *
 * Its states and their transitions are in `state.ts`; the watch runs only while `watching`.
 */
import type { Etcd3 } from 'etcd3';
import type { Mutation, Route } from '../../shared/index.js';
import type { CommitOutcome, Committer } from '../commit/committer.js';
import { deliverDeadLetter } from '../dlq/delivery.js';
import type { DeadLetterSink } from '../dlq/sink.js';
import { errorMessage, LeadershipLostError } from '../errors.js';
import { BACKOFF, backoffDelay } from '../failure/backoff.js';
import type { Failure } from '../failure/failure.js';
import { failureOf } from '../failure/failure.js';
import { FailureTally } from '../failure/tally.js';
import type { Invoker } from '../invoke/invoker.js';
import { RouteReads } from '../invoke/stage-record.js';
import type { Keyspace } from '../keyspace.js';
import { KeyQueue } from '../queue/key-queue.js';
import { PrefixWatch, type SourceEvent, WatchState } from '../source/prefix-watch.js';
import { readPrefix } from '../source/resync.js';
import { readSnapshot, type Snapshot } from '../source/snapshot.js';
import { type ItemResult, markerSaysApplied, runBatch } from './batch.js';
import {
  type CommittedPut,
  type Decline,
  HandedOver,
  handOffVerdict,
  ReceivedRevisions,
  SnapshotsAhead,
} from './hand-off.js';
import {
  deadLetterInput,
  newItem,
  refundAttempt,
  type SourceChange,
  startAttempt,
  type WorkItem,
} from './item.js';
import { scheduleDecision } from './schedule.js';
import { type Outcome, type StepResult, settle } from './settle.js';
import { nextState, type WorkerEvent, WorkerState } from './state.js';
import { newRouteStats, type RouteStats } from './stats.js';

export interface RouteObserver {
  invokeLatency?(route: string, seconds: number): void;
  log?(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void;
}

export interface RouteWorkerDeps {
  readonly client: Etcd3;
  readonly keyspace: Keyspace;
  readonly invoker: Invoker;
  readonly committer: Committer;
  readonly deadLetters: DeadLetterSink;
  readonly bridgeId: string;
  readonly maxInFlight: number;
  /** etcd's --max-txn-ops, for the snapshot's chunks; etcd's default when absent. */
  readonly maxTxnOps?: number;
  readonly observer?: RouteObserver;
  /** Called once when the route can no longer work (leadership lost, a fatal failure). */
  readonly onFatal: (error: Error) => void;
  /** Take records other routes commit under this prefix from the commit (`offer`); off: none offered. */
  readonly handOff?: boolean;
}

/** Keys whose newest event a route remembers for hand-offs (an evicted key is only not handed off). */
export const HAND_OFF_KEYS = 10_000;

export class RouteWorker {
  readonly stats: RouteStats = newRouteStats();
  /** Failures by classification, for `etcd_bridge_failures_total`. */
  readonly failures = new FailureTally();
  /** Offers declined, by reason (`handOffVerdict`), beside the total in `stats`. */
  readonly handOffDeclines = new Map<Decline, number>();
  private readonly queue = new KeyQueue<WorkItem>();
  private readonly reads: RouteReads;
  private readonly watch: PrefixWatch;
  private current = WorkerState.Idle;
  private activeBatches = 0;
  /** Snapshot reads failed in a row: the read backoff grows with them. */
  private readFailures = 0;
  /** Records of a resync not finished yet: they arrive in key order, so the checkpoint waits. */
  private resyncOutstanding = 0;
  private pumpTimer: NodeJS.Timeout | undefined;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly stopping = new AbortController();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly progressWaiters: Array<() => void> = [];
  /** Hand-off bookkeeping, when hand-off is on: the newest event per key, and what the watch owes. */
  private readonly received: ReceivedRevisions | undefined;
  private readonly handedOver = new HandedOver();
  private readonly snapshotsAhead: SnapshotsAhead;
  /** See `appliedElsewhereThrough`. */
  private markersUnknownThrough = 0n;

  constructor(
    readonly route: Route,
    private readonly deps: RouteWorkerDeps,
  ) {
    this.reads = new RouteReads(route);
    this.received = deps.handOff ? new ReceivedRevisions(HAND_OFF_KEYS) : undefined;
    this.snapshotsAhead = new SnapshotsAhead(deps.maxInFlight);
    this.watch = new PrefixWatch(deps.client, this.reads.pattern.prefix, {
      onEvents: (events) => this.onEvents(events),
      onCompacted: (compactRevision) =>
        void this.resync(`start revision compacted (compact revision ${compactRevision})`),
      // Nothing under the prefix up to `revision` is still to come: the checkpoint may pass it.
      onProgress: (revision) => this.queue.observe(revision),
      onStateChange: (state, error) => {
        if (error !== undefined)
          this.log('warn', 'watch interrupted; resuming from own revision', {
            state,
            error: errorMessage(error),
          });
      },
      // The watch classifies its own stream failures: retryable ones it counts here and reconnects;
      // a fatal one (credentials, permission) stops it, and the route stops the bridge.
      onFailure: (classification) => this.failures.count(classification),
      onFatal: (error) => this.fatal(failureOf(error)),
    });
  }

  get state(): WorkerState {
    return this.current;
  }

  get prefix(): string {
    return this.reads.pattern.prefix;
  }

  get held(): number {
    return this.queue.size;
  }

  get inFlightBatches(): number {
    return this.activeBatches;
  }

  get watchState(): WatchState {
    return this.watch.state;
  }

  get watchReconnects(): number {
    return this.watch.reconnects;
  }

  /** Every revision up to this is handled (committed, skipped, filtered or dead-lettered). */
  get handledThrough(): bigint {
    return this.deliveredBound(this.queue.lowWatermark());
  }

  /** Revisions behind the etcd head; 0 for a route that holds nothing and is watching live. */
  lagRevisions(head: bigint): bigint {
    if (this.queue.size === 0 && this.watch.state === WatchState.Watching) return 0n;
    const lag = head - this.handledThrough;
    return lag > 0n ? lag : 0n;
  }

  /** Seconds the oldest held record has waited; 0 when nothing is held. */
  lagSeconds(now = Date.now()): number {
    const oldest = this.queue.oldest();
    return oldest ? (now - oldest.receivedAt) / 1000 : 0;
  }

  /**
   * Records at or below `revision` may have been applied by a bridge that led before this one (or
   * by this process before a restart of the route): their batches read their markers even where
   * the route reads nothing else. Above it, only this bridge commits, and it does not deliver its
   * own records twice (but by a resync, whose records are read too).
   */
  appliedElsewhereThrough(revision: bigint): void {
    if (revision > this.markersUnknownThrough) this.markersUnknownThrough = revision;
  }

  start(fromRevision: bigint): void {
    this.queue.observe(fromRevision - 1n);
    this.transition('start', fromRevision);
  }

  /** Stop taking new changes; batches in flight finish. */
  stop(): void {
    this.transition('stop');
  }

  /** Resolves when no batch is in flight (and, unless stopped, nothing is held). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  isIdle(): boolean {
    if (this.activeBatches > 0) return false;
    return (
      this.current === WorkerState.Stopped ||
      (this.queue.size === 0 && this.current !== WorkerState.Resyncing)
    );
  }

  /** The checkpoint this route may record once `finishing` are committed. */
  checkpointFor(finishing: ReadonlySet<object>): bigint | undefined {
    if (this.resyncOutstanding > 0 || this.current === WorkerState.Resyncing) return undefined;
    return this.deliveredBound(this.queue.lowWatermarkWithout(finishing as ReadonlySet<WorkItem>));
  }

  /**
   * A watermark, never above what the watch has delivered: a record handed over is ahead of the
   * watch, and other keys' records below it may still be on their way (a checkpoint past them
   * would skip them after a restart). The queue keeps this bound itself; this says it here too.
   */
  private deliveredBound(mark: bigint): bigint {
    const delivered = this.watch.nextRevision - 1n;
    return mark < delivered ? mark : delivered;
  }

  /**
   * Puts another route has just committed under this route's prefix, one transaction's (bridge.ts,
   * from the committer's answer). Each is taken into the queue when nothing of its key can be
   * overtaken (`handOffVerdict`), otherwise left to the watch, which brings it as it would anyway.
   * Batches are formed once all are in, as for one watch response. Returns how many were taken.
   */
  offer(puts: readonly CommittedPut[]): number {
    if (!this.received) return 0;
    let taken = 0;
    for (const put of puts) {
      const verdict = handOffVerdict(put, {
        watching: this.current === WorkerState.Watching && this.watch.state === WatchState.Watching,
        takesPuts: this.route.eventTypes.includes('put'),
        room: this.queue.retained + 1 < this.deps.maxInFlight && this.handedOver.size < this.deps.maxInFlight,
        watchNext: this.watch.nextRevision,
        received: this.received.get(put.key),
      });
      if (verdict !== 'take') {
        if (put.snapshot) this.keepSnapshot(put, put.snapshot, verdict);
        this.stats.handOffsDeclined++;
        this.handOffDeclines.set(verdict, (this.handOffDeclines.get(verdict) ?? 0) + 1);
        continue;
      }
      taken++;
      this.stats.handOffsTaken++;
      this.received.note(put.key, put.revision, 'put');
      this.handedOver.add(put.key, put.revision);
      this.stats.received++;
      const item = newItem({
        key: put.key,
        type: 'put',
        value: put.value,
        revision: put.revision,
        fromResync: false,
      });
      // Its reads from the transaction, if no earlier record of the key is held (CommittedPut.snapshot).
      if (put.snapshot && !this.queue.head(put.key)) item.snapshot = put.snapshot;
      this.queue.pushAhead(item);
    }
    if (taken > 0) this.schedulePump();
    return taken;
  }

  /**
   * An offer declined still brings its record's reads: for the record the watch delivered already,
   * if it is its key's oldest held record and has not been read (its batch waits for this answer:
   * `Committer.offerPending`); for one the watch has not brought yet, until it does.
   */
  private keepSnapshot(put: CommittedPut, snapshot: Snapshot, verdict: Decline): void {
    if (verdict === 'delivered') {
      const head = this.queue.head(put.key);
      if (head && head.revision === put.revision && head.snapshot === undefined) head.snapshot = snapshot;
    } else if (verdict === 'unknown-key' || verdict === 'would-overtake') {
      if (put.revision >= this.watch.nextRevision) this.snapshotsAhead.add(put.key, put.revision, snapshot);
    }
  }

  /** What this route reads for a record of `key`: its applied marker and the route's reads. */
  readsFor(key: string): string[] {
    return [this.deps.keyspace.applied(this.route.name, key), ...this.reads.keysFor(key)];
  }

  /** Read the prefix at the current revision and deliver every key as a put, then watch on. */
  async resync(reason: string): Promise<void> {
    if (!this.transition('resync')) return;
    this.stats.resyncs++;
    this.log('warn', 'resync', { reason });
    let at: bigint | undefined;
    try {
      at = await readPrefix({
        client: this.deps.client,
        prefix: this.prefix,
        signal: this.stopping.signal,
        waitForRoom: () => this.roomForMore(),
        deliver: (kv) => {
          this.resyncOutstanding++;
          this.push({
            key: kv.key.toString('utf8'),
            type: 'put',
            value: Buffer.from(kv.value),
            revision: BigInt(kv.mod_revision),
            fromResync: true,
          });
        },
        onRetry: (error, classification, delayMs) => {
          this.failures.count(classification);
          this.log('warn', 'resync read failed; trying again', { error: errorMessage(error), delayMs });
        },
      });
    } catch (error) {
      this.fatal(failureOf(error));
      return;
    }
    if (at === undefined) return; // stopped meanwhile
    this.queue.observe(at);
    this.log('info', 'resync read the prefix', { revision: at.toString() });
    this.transition('resynced', at + 1n);
    this.schedulePump();
  }

  /**
   * The one place the state changes, with what each state means for the watch. Returns false when
   * the event means nothing in the current state (a second resync, a stop after a stop).
   */
  private transition(event: WorkerEvent, watchFrom?: bigint): boolean {
    const next = nextState(this.current, event);
    if (next === undefined) return false;
    this.current = next;
    switch (next) {
      case WorkerState.Watching:
        this.watch.start(watchFrom ?? this.watch.nextRevision);
        break;
      case WorkerState.Paused:
        this.watch.stop();
        break;
      case WorkerState.Resyncing:
        this.watch.stop();
        // The resync delivers each key as of its revision; what came before is forgotten, and a
        // record handed over meanwhile may come again from the resync (its marker skips it).
        this.forgetHandOffs();
        break;
      case WorkerState.Stopped:
        this.watch.stop();
        this.forgetHandOffs();
        this.stopping.abort();
        clearTimeout(this.pumpTimer);
        for (const timer of this.retryTimers) clearTimeout(timer);
        this.retryTimers.clear();
        for (const waiter of this.progressWaiters.splice(0)) waiter(); // a resync waiting for room ends
        this.notifyIdle();
        break;
      case WorkerState.Idle:
        break;
    }
    return true;
  }

  private onEvents(events: SourceEvent[]): void {
    for (const event of events) {
      this.received?.note(event.key, event.revision, event.type);
      // Handed over already (offer): held once, so the watch's copy only moves the watermark.
      if (this.handedOver.size > 0 && this.handedOver.take(event.key, event.revision))
        this.queue.observe(event.revision);
      else if (this.route.eventTypes.includes(event.type)) {
        const snapshot =
          this.snapshotsAhead.size > 0 ? this.snapshotsAhead.take(event.key, event.revision) : undefined;
        this.push({ ...event, fromResync: false }, snapshot);
      } else this.queue.observe(event.revision);
    }
    if (this.handedOver.size > 0) this.handedOver.pruneBelow(this.watch.nextRevision);
    if (this.snapshotsAhead.size > 0) this.snapshotsAhead.pruneBelow(this.watch.nextRevision);
    // Back-pressure: stop the watch; it resumes from its own revision, nothing is buffered.
    if (this.queue.retained >= this.deps.maxInFlight) this.transition('full');
    this.schedulePump();
  }

  /** Hold a change; with the reads its commit brought, if no earlier record of its key is held. */
  private push(change: SourceChange, snapshot?: Snapshot): void {
    this.stats.received++;
    if (change.fromResync) this.received?.note(change.key, change.revision, change.type);
    const item = newItem(change);
    if (snapshot && !this.queue.head(change.key)) item.snapshot = snapshot;
    this.queue.push(item);
  }

  private forgetHandOffs(): void {
    this.received?.clear();
    this.handedOver.clear();
    this.snapshotsAhead.clear();
  }

  /** Dispatch, arm the window, or nothing: `scheduleDecision` decides (an idle route never waits). */
  private schedulePump(): void {
    if (this.current === WorkerState.Stopped) return;
    this.pump(false);
  }

  /**
   * Take batches while the decision says so. Once the window has run out (`windowExpired`), what
   * is ready goes as it is, as many batches as the concurrency allows.
   */
  private pump(windowExpired: boolean): void {
    while (this.current !== WorkerState.Stopped) {
      const decision = scheduleDecision({
        ready: this.queue.readyCount,
        inFlight: this.activeBatches,
        batchSize: this.route.batchSize,
        concurrency: this.route.concurrency,
        batchWindowMs: this.route.batchWindowMs,
      });
      if (decision === 'none') return;
      if (decision === 'wait' && !windowExpired) {
        this.pumpTimer ??= setTimeout(() => {
          this.pumpTimer = undefined;
          this.pump(true);
        }, this.route.batchWindowMs);
        return;
      }
      const items = this.queue.take(this.route.batchSize);
      if (items.length === 0) return;
      this.activeBatches++;
      this.stats.batches++;
      void this.processBatch(items).finally(() => {
        this.activeBatches--;
        this.afterProgress();
      });
    }
  }

  private afterProgress(): void {
    if (this.current === WorkerState.Paused && this.queue.retained <= this.deps.maxInFlight / 2) {
      this.transition('drained');
    }
    for (const waiter of this.progressWaiters.splice(0)) waiter();
    this.schedulePump();
    if (this.isIdle()) this.notifyIdle();
  }

  /** Bounded memory for a resync: resolves once the queue has room (or the route stopped). */
  private async roomForMore(): Promise<void> {
    // The pages read so far go out now. Waiting for progress alone would wait forever when nothing
    // was in flight as the resync began (a new route at `resync`, a restart after a compaction) and
    // the prefix holds more keys than the queue takes.
    this.schedulePump();
    while (this.queue.size >= this.deps.maxInFlight && this.current !== WorkerState.Stopped) {
      await new Promise<void>((resolve) => this.progressWaiters.push(resolve));
    }
  }

  private async processBatch(items: WorkItem[]): Promise<void> {
    const now = Date.now();
    for (const item of items) startAttempt(item, now);
    // A record the committer is about to offer (the watch brought it first): its reads come with
    // the offer, which is at most that transaction's answer away (often already on the socket).
    if (this.received) await this.deps.committer.offerPending(items.map((item) => item.key));
    const handed = sharedSnapshot(items, (item, snapshot) =>
      this.deps.committer.wroteMarkerSince(this.markerKey(item), snapshot.revision),
    );
    let read = false;
    const results = await runBatch(items, {
      route: this.route.name,
      functionName: this.route.function,
      readSnapshot: async (keys) => {
        read = true;
        if (handed) {
          this.stats.snapshotsFromCommit++;
          return handed;
        }
        this.stats.snapshotsRead++;
        return readSnapshot(this.deps.client, keys, this.deps.maxTxnOps, this.snapshotRevision(items));
      },
      invoke: (functionName, request) => this.deps.invoker.invoke(functionName, request),
      markerKey: (item) => this.markerKey(item),
      readKeys: (item) => this.reads.keysFor(item.key),
      mayBeApplied: (item) => item.fromResync || item.revision <= this.markersUnknownThrough,
      onInvoked: (seconds, failure) => {
        if (failure) this.stats.invokeErrors++;
        else this.deps.observer?.invokeLatency?.(this.route.name, seconds);
      },
    });
    if (!read) this.stats.snapshotsSkipped++;
    const readFailed = results.some(({ result }) => result.kind === 'failed' && result.step === 'read');
    // Told once a streak (the first failed read), not once a batch: the reads retry with backoff.
    if (readFailed && this.readFailures === 0)
      this.log('warn', 'snapshot read failed; retrying with backoff', {
        error: firstFailure(results)?.message,
      });
    this.readFailures = readFailed ? this.readFailures + 1 : 0;
    await Promise.all(results.map(({ item, result }) => this.handle(item, result)));
  }

  /**
   * The revision a batch may read at without a quorum round trip (`readSnapshot`'s `atLeast`), or
   * undefined for a linearizable read. A snapshot at R differs from one at processing time only
   * by writes after R, so R must cover every write the batch must see:
   * - its records' own revisions, and with them every write that came before them (a writer that
   *   wrote a config and then a heat stack wrote the config at a lower revision);
   * - every write of this bridge, the applied markers above all (a key's previous record
   *   committed before this one was taken): the committer's last revision. Before this bridge has
   *   committed anything, a bridge that led before it may have written markers above the records'
   *   revisions (its commits precede this bridge's election, not its first records), so the first
   *   batches read linearizably; every commit of this bridge comes after its election, so after
   *   every commit of the bridges before it.
   * What R leaves out was written concurrently with the records, unseen by the bridge: as
   * arbitrary as what a read at processing time happens to include. A stale marker all the same
   * would fail its compare at commit, which reads it again (the safety net stays).
   */
  private snapshotRevision(items: readonly WorkItem[]): bigint | undefined {
    let revision = this.deps.committer.lastRevision;
    if (!revision) return undefined;
    for (const item of items) if (item.revision > revision) revision = item.revision;
    return revision;
  }

  /** Settle the record's step result and act on the outcome, until the record is done or waits. */
  private async handle(item: WorkItem, first: StepResult): Promise<void> {
    for (let result: StepResult | undefined = first; result !== undefined; ) {
      if (result.kind === 'failed') this.failures.count(result.failure);
      const outcome = settle(result, {
        route: this.route,
        item,
        now: Date.now(),
        readRetryDelayMs: backoffDelay(BACKOFF.read, this.readFailures),
      });
      result = await this.apply(item, outcome);
    }
  }

  /** The one switch over a settled outcome; returns the next step's result, if there is a next step. */
  private async apply(item: WorkItem, outcome: Outcome): Promise<StepResult | undefined> {
    switch (outcome.kind) {
      case 'finish':
        this.stats[outcome.as]++;
        this.finish(item);
        return undefined;
      case 'commit':
        return this.commit(item, outcome.mutations);
      case 'retry':
        if (outcome.counted) this.stats.retries++;
        else refundAttempt(item);
        this.retryLater(item, outcome.delayMs);
        return undefined;
      case 'block': {
        const applied = await this.unlessApplied(item);
        if (applied) return applied;
        if (!item.blocked) this.stats.blocked++;
        item.blocked = true;
        this.log('error', 'record failed for good; key blocked (route onFailure = block)', {
          key: item.key,
          revision: item.revision.toString(),
          errorType: outcome.failure.errorType,
          error: outcome.failure.message,
        });
        this.retryLater(item, outcome.delayMs);
        return undefined;
      }
      case 'dead-letter':
        return (await this.unlessApplied(item)) ?? this.deadLetter(item, outcome.failure, outcome.reason);
      case 'leave':
        return undefined;
      case 'stop':
        this.fatal(outcome.failure);
        return undefined;
    }
  }

  /**
   * Before a record fails for good: if no batch read its marker (a route that reads nothing), read
   * it now, so that a record applied already (redelivered after a restart or a resync) is skipped
   * instead of dead-lettered a second time or blocking its key. Undefined: not applied, go on.
   */
  private async unlessApplied(item: WorkItem): Promise<StepResult | undefined> {
    if (item.markerModRevision !== undefined) return undefined;
    const markerKey = this.markerKey(item);
    try {
      const snapshot = await readSnapshot(
        this.deps.client,
        [markerKey],
        this.deps.maxTxnOps,
        this.snapshotRevision([item]),
      );
      return markerSaysApplied(item, snapshot, markerKey) ? { kind: 'applied-already' } : undefined;
    } catch (error) {
      return { kind: 'failed', step: 'read', failure: failureOf(error) };
    }
  }

  private async commit(item: WorkItem, mutations: readonly Mutation[]): Promise<StepResult> {
    try {
      return { kind: 'committed', outcome: await this.submit(item, mutations) };
    } catch (error) {
      return { kind: 'failed', step: 'commit', failure: failureOf(error) };
    }
  }

  private async deadLetter(item: WorkItem, failure: Failure, reason: string): Promise<StepResult> {
    try {
      const outcome = await deliverDeadLetter(
        deadLetterInput(item, failure, reason, this.route.name, this.deps.bridgeId),
        {
          sink: this.deps.deadLetters,
          commit: (entry) => this.submit(item, [], entry),
          log: (level, message, fields) => this.log(level, message, fields),
          signal: this.stopping.signal,
        },
      );
      return outcome === 'interrupted' ? { kind: 'interrupted' } : { kind: 'dead-lettered', outcome };
    } catch (error) {
      return { kind: 'failed', step: 'dead-letter', failure: failureOf(error) };
    }
  }

  /** The record's outputs (or its dead-letter entry) with its applied marker, through the committer. */
  private submit(
    item: WorkItem,
    mutations: readonly Mutation[],
    deadLetter?: { readonly key: string; readonly value: string },
  ): Promise<CommitOutcome> {
    return this.deps.committer.submit({
      route: this.route.name,
      sourceKey: item.key,
      revision: item.revision,
      markerKey: this.markerKey(item),
      markerModRevision: item.markerModRevision,
      mutations,
      ...(deadLetter ? { deadLetter } : {}),
      item,
    });
  }

  private retryLater(item: WorkItem, delayMs: number): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (this.current === WorkerState.Stopped) return;
      this.queue.release(item);
      this.schedulePump();
    }, delayMs);
    this.retryTimers.add(timer);
  }

  private finish(item: WorkItem): void {
    this.queue.complete(item);
    if (item.fromResync) this.resyncOutstanding--;
  }

  private markerKey(item: WorkItem): string {
    return this.deps.keyspace.applied(this.route.name, item.key);
  }

  private fatal(failure: Failure): void {
    const error = failure.error instanceof Error ? failure.error : new Error(failure.message);
    if (!(error instanceof LeadershipLostError))
      this.log('error', 'route stops', { error: failure.message, reason: failure.reason });
    this.stop();
    this.deps.onFatal(error);
  }

  private notifyIdle(): void {
    for (const waiter of this.idleWaiters.splice(0)) waiter();
  }

  private log(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void {
    this.deps.observer?.log?.(level, message, { route: this.route.name, ...fields });
  }
}

/**
 * The snapshot the batch's records came with from one transaction, if every one of them came with
 * it (one consistent snapshot for the batch, as a read would be) and the route has committed
 * nothing for their keys since (`stale`): then it reads what a read now would, but for writes of
 * others concurrent with the records. Each record is given a snapshot for one batch only.
 */
function sharedSnapshot(
  items: readonly WorkItem[],
  stale: (item: WorkItem, snapshot: Snapshot) => boolean,
): Snapshot | undefined {
  const first = items[0]?.snapshot;
  const shared = first ? items.every((item) => item.snapshot === first && !stale(item, first)) : false;
  for (const item of items) item.snapshot = null;
  return shared && first ? first : undefined;
}

function firstFailure(results: readonly ItemResult[]): Failure | undefined {
  for (const { result } of results) if (result.kind === 'failed') return result.failure;
  return undefined;
}
