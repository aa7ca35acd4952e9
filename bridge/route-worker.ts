/**
 * One route at work: source (PrefixWatch) → per-key queue → batch: snapshot read, invoke →
 * outcome: commit, retry later, or dead-letter. The decisions live in one place (`settle`).
 */
import type { Etcd3 } from 'etcd3';
import {
  compileKeyPattern,
  type KeyPattern,
  type Mutation,
  type Route,
  type StageRecord,
} from '../shared/index.js';
import type { Committer } from './commit/committer.js';
import { buildDeadLetterRecord } from './dlq/record.js';
import type { DeadLetterSink } from './dlq/sink.js';
import {
  CommitRejectedError,
  ConfigError,
  errorMessage,
  InvokeError,
  isRetryable,
  LeadershipLostError,
} from './errors.js';
import { prefixRangeEnd } from './etcd/ops.js';
import type { Invoker } from './invoke/invoker.js';
import type { Keyspace } from './keyspace.js';
import { KeyQueue, type QueuedRecord } from './queue/key-queue.js';
import { decideRetry } from './retry.js';
import { PrefixWatch, type SourceEvent, WatchState } from './source/prefix-watch.js';
import { readSnapshot } from './source/snapshot.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

interface Item extends QueuedRecord {
  readonly type: 'put' | 'delete';
  readonly value: Buffer | null;
  readonly fromResync: boolean;
  /** When the bridge received it (ms since epoch), for lag in seconds. */
  readonly receivedAt: number;
  /** Failed for good on a route whose onFailure is `block`: the key waits on it. */
  blocked?: boolean;
  attempts: number;
  firstAttemptAt: number;
  lastAttemptAt: number;
  markerModRevision: string;
}

export interface RouteStats {
  received: number;
  committed: number;
  skipped: number;
  /** Records whose function answer had nothing to write. */
  noop: number;
  retries: number;
  deadLettered: number;
  blocked: number;
  resyncs: number;
  batches: number;
  invokeErrors: number;
}

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
  readonly observer?: RouteObserver;
  /** Called once when the route can no longer work (leadership lost). */
  readonly onFatal: (error: Error) => void;
}

export class RouteWorker {
  readonly stats: RouteStats = {
    received: 0,
    committed: 0,
    skipped: 0,
    noop: 0,
    retries: 0,
    deadLettered: 0,
    blocked: 0,
    resyncs: 0,
    batches: 0,
    invokeErrors: 0,
  };
  private readonly queue = new KeyQueue<Item>();
  private readonly pattern: KeyPattern;
  private readonly reads: KeyPattern[];
  private readonly watch: PrefixWatch;
  private activeBatches = 0;
  private paused = false;
  private stopped = false;
  private pumpTimer: NodeJS.Timeout | undefined;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** Records of a resync not yet finished: they arrive in key order, so the checkpoint waits. */
  private resyncOutstanding = 0;
  private resyncing = false;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    readonly route: Route,
    private readonly deps: RouteWorkerDeps,
  ) {
    this.pattern = compileKeyPattern(route.keyPattern);
    this.reads = route.reads.map((template) => compileKeyPattern(template));
    this.watch = new PrefixWatch(deps.client, this.pattern.prefix, {
      onEvents: (events) => this.onEvents(events),
      onCompacted: (compactRevision) =>
        void this.resync(`start revision compacted (compact revision ${compactRevision})`),
      onStateChange: (state, error) => {
        if (error !== undefined)
          this.log('warn', 'watch interrupted; resuming from own revision', {
            state,
            error: errorMessage(error),
          });
      },
    });
  }

  get prefix(): string {
    return this.pattern.prefix;
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
    return this.queue.lowWatermark();
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

  start(fromRevision: bigint): void {
    this.queue.observe(fromRevision - 1n);
    this.watch.start(fromRevision);
  }

  /** Stop taking new changes; batches in flight finish. */
  stop(): void {
    this.stopped = true;
    this.watch.stop();
    clearTimeout(this.pumpTimer);
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    this.notifyIdle();
  }

  /** Resolves when no batch is in flight (and, unless stopped, nothing is held). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  isIdle(): boolean {
    return this.activeBatches === 0 && (this.stopped || (this.queue.size === 0 && !this.resyncing));
  }

  /** The checkpoint this route may record once `finishing` are committed. */
  checkpointFor(finishing: ReadonlySet<object>): bigint | undefined {
    if (this.resyncOutstanding > 0 || this.resyncing) return undefined;
    return this.queue.lowWatermarkWithout(finishing as ReadonlySet<Item>);
  }

  /** Read the prefix at the current revision and deliver every key as a put, then watch on. */
  async resync(reason: string): Promise<void> {
    if (this.resyncing || this.stopped) return;
    this.resyncing = true;
    this.stats.resyncs++;
    this.watch.stop();
    this.log('warn', 'resync', { reason });
    try {
      let revision: string | undefined;
      let from = Buffer.from(this.pattern.prefix, 'utf8');
      const end = prefixRangeEnd(this.pattern.prefix);
      for (;;) {
        // Bounded memory: wait for room before reading the next page.
        while (this.queue.size >= this.deps.maxInFlight && !this.stopped) await this.nextCompletion();
        if (this.stopped) return;
        const page = await this.deps.client.kv.range({
          key: from,
          range_end: end,
          limit: 500,
          ...(revision ? { revision } : {}),
        });
        revision ??= page.header.revision;
        for (const kv of page.kvs) {
          this.resyncOutstanding++;
          this.push({
            key: kv.key.toString('utf8'),
            type: 'put',
            value: Buffer.from(kv.value),
            revision: BigInt(kv.mod_revision),
            fromResync: true,
          });
        }
        const last = page.kvs[page.kvs.length - 1];
        if (!page.more || !last) break;
        from = Buffer.concat([last.key, Buffer.from([0])]);
      }
      const at = BigInt(revision ?? '0');
      this.queue.observe(at);
      this.resyncing = false;
      this.log('info', 'resync read the prefix', { revision: at.toString() });
      this.watch.start(at + 1n);
      this.schedulePump();
    } catch (error) {
      this.resyncing = false;
      this.log('warn', 'resync failed; trying again', { error: errorMessage(error) });
      setTimeout(() => void this.resync(reason), 500);
    }
  }

  private onEvents(events: SourceEvent[]): void {
    for (const event of events) {
      if (this.route.eventTypes.includes(event.type)) {
        this.push({ ...event, fromResync: false });
      } else {
        this.queue.observe(event.revision);
      }
    }
    if (this.queue.retained >= this.deps.maxInFlight && !this.paused) {
      // Back-pressure: stop the watch; it resumes from its own revision, nothing is buffered.
      this.paused = true;
      this.watch.stop();
    }
    this.schedulePump();
  }

  private push(event: Pick<Item, 'key' | 'type' | 'value' | 'revision' | 'fromResync'>): void {
    this.stats.received++;
    this.queue.push({
      ...event,
      receivedAt: Date.now(),
      attempts: 0,
      firstAttemptAt: 0,
      lastAttemptAt: 0,
      markerModRevision: '0',
    });
  }

  private schedulePump(): void {
    if (this.pumpTimer || this.stopped) return;
    if (this.queue.readyCount >= this.route.batchSize || this.route.batchWindowMs === 0) {
      this.pump();
      return;
    }
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      this.pump();
    }, this.route.batchWindowMs);
  }

  private pump(): void {
    while (!this.stopped && this.activeBatches < this.route.concurrency && this.queue.readyCount > 0) {
      const items = this.queue.take(this.route.batchSize);
      if (items.length === 0) break;
      this.activeBatches++;
      this.stats.batches++;
      void this.processBatch(items).finally(() => {
        this.activeBatches--;
        this.afterProgress();
      });
    }
  }

  private afterProgress(): void {
    if (this.paused && !this.stopped && !this.resyncing && this.queue.retained <= this.deps.maxInFlight / 2) {
      this.paused = false;
      this.watch.start(this.watch.nextRevision);
    }
    for (const waiter of this.completionWaiters.splice(0)) waiter();
    this.schedulePump();
    if (this.isIdle()) this.notifyIdle();
  }

  private readonly completionWaiters: Array<() => void> = [];
  private nextCompletion(): Promise<void> {
    return new Promise((resolve) => this.completionWaiters.push(resolve));
  }

  private async processBatch(items: Item[]): Promise<void> {
    const now = Date.now();
    for (const item of items) {
      item.attempts++;
      if (item.firstAttemptAt === 0) item.firstAttemptAt = now;
      item.lastAttemptAt = now;
    }
    // 1. One snapshot: each record's applied marker and the keys the route reads for it.
    const readKeys = new Map<Item, string[]>();
    const keys: string[] = [];
    for (const item of items) {
      keys.push(this.markerKey(item));
      const parts = this.pattern.match(item.key);
      const itemReads = parts ? this.reads.map((read) => read.build(parts)) : [];
      readKeys.set(item, itemReads);
      keys.push(...itemReads);
    }
    let snapshot: Awaited<ReturnType<typeof readSnapshot>>;
    try {
      snapshot = await readSnapshot(this.deps.client, keys);
    } catch (error) {
      // etcd unavailable: not the records' fault; try again without spending their attempts.
      for (const item of items) item.attempts--;
      for (const item of items) this.retryLater(item, 200);
      this.log('warn', 'snapshot read failed', { error: errorMessage(error) });
      return;
    }

    // 2. Skip what is applied already; turn the rest into contract records.
    const records: StageRecord[] = [];
    const byId = new Map<string, Item>();
    const settled: Promise<void>[] = [];
    for (const item of items) {
      const marker = snapshot.entries.get(this.markerKey(item)) ?? null;
      item.markerModRevision = marker?.modRevision ?? '0';
      if (marker && BigInt(marker.value.toString('utf8')) >= item.revision) {
        this.stats.skipped++;
        this.finish(item);
        continue;
      }
      let value: string | null = null;
      if (item.value !== null) {
        try {
          value = decoder.decode(item.value);
        } catch {
          settled.push(
            this.settleFailure(
              item,
              false,
              'RecordValidationError',
              `${item.key}: value: is not valid UTF-8`,
            ),
          );
          continue;
        }
      }
      const reads: Record<string, string | null> = {};
      for (const key of readKeys.get(item)!) {
        const entry = snapshot.entries.get(key);
        reads[key] = entry ? entry.value.toString('utf8') : null;
      }
      const id = String(records.length);
      byId.set(id, item);
      records.push({
        id,
        type: item.type,
        key: item.key,
        value,
        modRevision: item.revision.toString(),
        reads,
      });
    }

    // 3. Invoke, and settle each record by its answer.
    if (records.length > 0) {
      const started = performance.now();
      try {
        const response = await this.deps.invoker.invoke(this.route.function, {
          route: this.route.name,
          records,
        });
        this.deps.observer?.invokeLatency?.(this.route.name, (performance.now() - started) / 1000);
        for (const result of response.results) {
          const item = byId.get(result.id);
          if (item) settled.push(this.settleSuccess(item, result.mutations));
        }
        for (const failure of response.batchItemFailures) {
          const item = byId.get(failure.itemIdentifier);
          if (item)
            settled.push(
              this.settleFailure(
                item,
                failure.retryable,
                failure.errorType ?? 'FunctionRecordError',
                failure.error,
              ),
            );
        }
      } catch (error) {
        this.stats.invokeErrors++;
        const kind =
          error instanceof InvokeError ? error.kind : error instanceof Error ? error.name : 'Error';
        for (const item of byId.values())
          settled.push(this.settleFailure(item, isRetryable(error), kind, errorMessage(error)));
      }
    }
    await Promise.all(settled);
  }

  private async settleSuccess(item: Item, mutations: Mutation[]): Promise<void> {
    if (mutations.length === 0) {
      // Nothing to write (a placeholder, an ignored delete): committing nothing twice is harmless,
      // so no marker is needed; the checkpoint moves past it with the next commit or flush.
      this.stats.noop++;
      this.finish(item);
      return;
    }
    try {
      const outcome = await this.deps.committer.submit({
        route: this.route.name,
        sourceKey: item.key,
        revision: item.revision,
        markerKey: this.markerKey(item),
        markerModRevision: item.markerModRevision,
        mutations,
        item,
      });
      if (outcome === 'committed') this.stats.committed++;
      else this.stats.skipped++;
      this.finish(item);
    } catch (error) {
      if (error instanceof CommitRejectedError) {
        // etcd will never take these outputs (too large): the record is bad input, like any other.
        await this.settleFailure(item, false, error.name, error.message);
        return;
      }
      this.fatal(error);
    }
  }

  /** The one switch: retry with backoff, block, or dead-letter. */
  private async settleFailure(
    item: Item,
    retryable: boolean,
    errorType: string,
    message: string,
  ): Promise<void> {
    const decision = decideRetry(this.route.retry, item, retryable);
    if (decision.action === 'retry') {
      this.stats.retries++;
      this.retryLater(item, decision.delayMs);
      return;
    }
    if (this.route.onFailure === 'block') {
      if (!item.blocked) this.stats.blocked++;
      item.blocked = true;
      this.log('error', 'record failed for good; key blocked (route onFailure = block)', {
        key: item.key,
        revision: item.revision.toString(),
        errorType,
        error: message,
      });
      // Try again now and then (the function may be fixed meanwhile), never in a tight loop.
      this.retryLater(item, Math.max(1_000, this.route.retry.maxDelayMs));
      return;
    }
    await this.deadLetter(item, errorType, `${message} (${decision.reason})`);
  }

  private async deadLetter(item: Item, errorType: string, message: string): Promise<void> {
    const sink = this.deps.deadLetters;
    const record = buildDeadLetterRecord(
      {
        route: this.route.name,
        key: item.key,
        type: item.type,
        modRevision: item.revision,
        value: item.value,
        errorType,
        errorMessage: message,
        attempts: item.attempts,
        firstAttemptAt: item.firstAttemptAt,
        lastAttemptAt: item.lastAttemptAt,
        bridgeId: this.deps.bridgeId,
      },
      sink.maxValueBytes,
    );
    this.log('warn', 'dead-lettered', {
      key: item.key,
      revision: record.modRevision,
      errorType,
      error: message,
    });
    try {
      let deadLetter: { key: string; value: string } | undefined;
      if (sink.send) {
        // Sent before the marker commits: at least once into the queue, never lost. A queue that
        // refuses (throttled, unreachable, misconfigured) holds this key, loudly, until it accepts;
        // a stop meanwhile leaves the record unfinished, to be delivered again after the restart.
        for (let delay = 100; ; delay = Math.min(30_000, delay * 2)) {
          try {
            await sink.send(record);
            break;
          } catch (error) {
            if (error instanceof ConfigError) throw error;
            if (this.stopped) return;
            this.log('error', 'dead-letter send failed; retrying', {
              key: item.key,
              error: errorMessage(error),
            });
            await new Promise((resolve) => setTimeout(resolve, delay));
            if (this.stopped) return;
          }
        }
      } else {
        deadLetter = sink.write?.(record);
      }
      const outcome = await this.deps.committer.submit({
        route: this.route.name,
        sourceKey: item.key,
        revision: item.revision,
        markerKey: this.markerKey(item),
        markerModRevision: item.markerModRevision,
        mutations: [],
        ...(deadLetter ? { deadLetter } : {}),
        item,
      });
      if (outcome === 'committed') this.stats.deadLettered++;
      this.finish(item);
    } catch (error) {
      this.fatal(error);
    }
  }

  private retryLater(item: Item, delayMs: number): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (this.stopped) return;
      this.queue.release(item);
      this.schedulePump();
    }, delayMs);
    this.retryTimers.add(timer);
  }

  private finish(item: Item): void {
    this.queue.complete(item);
    if (item.fromResync) this.resyncOutstanding--;
  }

  private markerKey(item: Item): string {
    return this.deps.keyspace.applied(this.route.name, item.key);
  }

  private fatal(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    if (!(err instanceof LeadershipLostError)) this.log('error', 'commit failed', { error: err.message });
    this.stop();
    this.deps.onFatal(err);
  }

  private notifyIdle(): void {
    for (const waiter of this.idleWaiters.splice(0)) waiter();
  }

  private log(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void {
    this.deps.observer?.log?.(level, message, { route: this.route.name, ...fields });
  }
}
