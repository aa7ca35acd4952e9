/**
 * The bridge: leads its group, then runs one RouteWorker per route over a shared Committer.
 * Losing leadership stops every route at once; the process is expected to exit and be restarted.
 * It is a StatusSource: the status publisher, /metrics and the replay see it through that
 * interface only, never its route workers.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Etcd3 } from 'etcd3';
import type { Route } from '../shared/index.js';
import { Committer, type HandOffTarget } from './commit/committer.js';
import type { BridgeConfig } from './config.js';
import { createDeadLetterQueue } from './dlq/from-config.js';
import type { DeadLetterSink } from './dlq/sink.js';
import { errorMessage } from './errors.js';
import { createEtcdClient } from './etcd/client.js';
import { compare, op } from './etcd/ops.js';
import { reachEtcd } from './etcd/reach.js';
import { createInvoker } from './invoke/from-config.js';
import type { Invoker } from './invoke/invoker.js';
import { type Keyspace, keyspaceFor, padRevision, unpadRevision } from './keyspace.js';
import { acquireLeadership, type Leadership } from './leader.js';
import { type BridgeLogger, silentLogger } from './log.js';
import { firstRevision } from './start-position.js';
import { lagRevisions } from './status/lag.js';
import { StatusPublisher } from './status/publisher.js';
import { type BridgeProgress, type RouteProgress, type RouteStatus, statusKey } from './status/schema.js';
import type { StatusSource } from './status/source.js';
import { RouteWorker } from './worker/route-worker.js';

export interface BridgeOptions {
  client?: Etcd3;
  invoker?: Invoker;
  deadLetters?: DeadLetterSink;
  logger?: BridgeLogger;
  bridgeId?: string;
  invokeLatency?(route: string, seconds: number): void;
}

export class Bridge implements StatusSource {
  private stopping: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private statusPublisher: StatusPublisher | undefined;
  private fatalError: Error | undefined;
  private readonly fatalListeners: Array<(error: Error) => void> = [];
  private readonly ownsClient: boolean;
  private readonly logger: BridgeLogger;

  private constructor(
    readonly config: BridgeConfig,
    readonly client: Etcd3,
    readonly keyspace: Keyspace,
    readonly bridgeId: string,
    readonly leadership: Leadership,
    readonly committer: Committer,
    private readonly invoker: Invoker,
    readonly deadLetters: DeadLetterSink,
    /** The route workers by route name, in configuration order. */
    private readonly workers: ReadonlyMap<string, RouteWorker>,
    options: BridgeOptions,
  ) {
    this.ownsClient = options.client === undefined;
    this.logger = options.logger ?? silentLogger;
  }

  /** Connect, wait to be elected leader of the group, resume every route from its checkpoint. */
  static async start(config: BridgeConfig, options: BridgeOptions = {}): Promise<Bridge> {
    const logger = options.logger ?? silentLogger;
    const client = options.client ?? createEtcdClient(config.etcd);
    const keyspace = keyspaceFor(config.group);
    const bridgeId = options.bridgeId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    let leadership: Leadership;
    try {
      leadership = await Bridge.lead(client, config, keyspace, bridgeId, logger);
    } catch (error) {
      // Our own client would keep the process alive (lease timers, channels): close it.
      if (!options.client) client.close();
      throw error;
    }

    const workers = new Map<string, RouteWorker>();
    const committer = new Committer(
      client,
      leadership,
      (route) => keyspace.checkpoint(route),
      (route, finishing) => workers.get(route)?.checkpointFor(finishing),
      {
        log: (level, message, fields) => logger.log(level, message, fields),
        maxOps: config.etcd.maxTxnOps,
        ...(config.handOff ? { handOff: handOffTo(workers) } : {}),
      },
    );
    const bridge = new Bridge(
      config,
      client,
      keyspace,
      bridgeId,
      leadership,
      committer,
      options.invoker ?? createInvoker(config.invoke),
      options.deadLetters ?? createDeadLetterQueue(config, client, keyspace),
      workers,
      options,
    );
    leadership.onLost((error) => bridge.fail(error));
    for (const route of config.routes) workers.set(route.name, bridge.createWorker(route, options));
    await bridge.run();
    return bridge;
  }

  /** Check that etcd answers (a wrong endpoint, CA or password fails here, clearly), then campaign. */
  private static async lead(
    client: Etcd3,
    config: BridgeConfig,
    keyspace: Keyspace,
    bridgeId: string,
    logger: BridgeLogger,
  ): Promise<Leadership> {
    try {
      // Waits out an etcd that is briefly unreachable; a setting at fault fails here at once.
      await reachEtcd(config.etcd, () => client.get(keyspace.checkpoint('-')).exec(), {
        log: (level, message, fields) => logger.log(level, message, fields),
      });
    } catch (error) {
      throw new Error(`cannot reach etcd at ${config.etcd.endpoints.join(', ')}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    logger.log('info', 'campaigning for leadership', { group: config.group, bridgeId });
    const leadership = await acquireLeadership(client, keyspace.root, bridgeId, config.leaseTtlSeconds, {
      log: (level, message, fields) => logger.log(level, message, fields),
    });
    logger.log('info', 'elected leader', { group: config.group, bridgeId });
    return leadership;
  }

  private createWorker(route: Route, options: BridgeOptions): RouteWorker {
    return new RouteWorker(route, {
      client: this.client,
      keyspace: this.keyspace,
      invoker: this.invoker,
      committer: this.committer,
      deadLetters: this.deadLetters,
      bridgeId: this.bridgeId,
      maxInFlight: this.config.maxInFlight,
      maxTxnOps: this.config.etcd.maxTxnOps,
      handOff: this.config.handOff,
      observer: {
        log: (level, message, fields) => this.logger.log(level, message, fields),
        ...(options.invokeLatency ? { invokeLatency: options.invokeLatency } : {}),
      },
      onFatal: (error) => this.fail(error),
    });
  }

  /** Start every route, then the periodic checkpoint flush and the status publisher. */
  private async run(): Promise<void> {
    // Where each route starts is settled for all of them before any runs: a route's `latest` (the
    // head it reads) then precedes every output of this bridge. Started one by one, a route read its
    // head after the routes before it had committed outputs under its prefix, and never saw those
    // (stage heat-stacks' first job_states, lost to stage job-state).
    const starts: Array<() => void | Promise<void>> = [];
    for (const worker of this.workers.values()) starts.push(await this.startRoute(worker));
    for (const start of starts) await start();
    this.flushTimer = setInterval(() => {
      this.committer.flushCheckpoints([...this.workers.keys()]).catch((error: unknown) => {
        this.logger.log('warn', 'checkpoint flush failed', { error: errorMessage(error) });
      });
    }, this.config.checkpointFlushMs);
    this.flushTimer.unref();
    this.statusPublisher = StatusPublisher.start({
      client: this.client,
      key: statusKey(this.keyspace),
      fence: () => this.leadership.fence(),
      source: this,
      log: (message, fields) => this.logger.log('warn', message, fields),
    });
  }

  /**
   * Where the route starts: from its checkpoint; a route without one at its start position (then
   * recorded as its checkpoint). Returns what starts it.
   */
  private async startRoute(worker: RouteWorker): Promise<() => void | Promise<void>> {
    const route = worker.route;
    const checkpointKey = this.keyspace.checkpoint(route.name);
    // Read after this bridge was elected: every commit of a bridge that led before it is at or
    // below this read's revision, so a record above it can have been applied only by this bridge.
    const read = await this.client.get(checkpointKey).exec();
    const readAt = BigInt(read.header.revision);
    worker.appliedElsewhereThrough(readAt);
    const stored = read.kvs[0]?.value.toString('utf8') ?? null;
    if (stored !== null) {
      const checkpoint = BigInt(unpadRevision(stored));
      this.committer.setCheckpoint(route.name, checkpoint);
      this.logger.log('info', 'route resumes from its checkpoint', {
        route: route.name,
        checkpoint: checkpoint.toString(),
      });
      return () => worker.start(checkpoint + 1n);
    }
    const head = readAt;
    const position = route.startPosition;
    if (position === 'resync') {
      // No checkpoint until the resync's records are committed (the worker holds it back until
      // then): a crash before that finds none, and the next start reads the prefix again, where a
      // checkpoint at the head would resume after it with the keys never delivered.
      this.logger.log('info', 'route starts', { route: route.name, position });
      return () => worker.resync('start position resync');
    }
    const from = firstRevision(position, head);
    // Record where we start at once, so a crash before the first commit cannot skip ahead to a later "latest".
    const result = await this.client.kv.txn({
      compare: [this.leadership.fence(), compare.modRevision(checkpointKey, '0')],
      success: [op.put(checkpointKey, padRevision(from - 1n))],
      failure: [],
    });
    if (!result.succeeded)
      throw new Error(`route ${route.name}: checkpoint appeared while starting; restart the bridge`);
    this.committer.setCheckpoint(route.name, from - 1n);
    this.logger.log('info', 'route starts', { route: route.name, position, fromRevision: from.toString() });
    return () => worker.start(from);
  }

  get group(): string {
    return this.config.group;
  }

  /** One route's worker (tests look at its counters and state). */
  route(name: string): RouteWorker | undefined {
    return this.workers.get(name);
  }

  status(): RouteProgress[] {
    return [...this.workers.values()].map((worker) => ({
      route: worker.route.name,
      prefix: worker.prefix,
      function: worker.route.function,
      checkpoint: this.committer.lastCheckpoint(worker.route.name)?.toString() ?? null,
      handledThrough: worker.handledThrough.toString(),
      held: worker.held,
      inFlightBatches: worker.inFlightBatches,
      idle: worker.isIdle(),
      watch: worker.watchState,
      watchReconnects: worker.watchReconnects,
      stats: { ...worker.stats },
      commitsPaused: this.committer.paused?.reason ?? null,
      failures: worker.failures.entries(),
    }));
  }

  async routeStatuses(now = Date.now()): Promise<RouteStatus[]> {
    const workers = [...this.workers.values()];
    return Promise.all(
      this.status().map(async (progress, i) => {
        const worker = workers[i]!;
        const lag = await lagRevisions(this.client, worker);
        return { ...progress, lagRevisions: lag.toString(), lagSeconds: worker.lagSeconds(now) };
      }),
    );
  }

  /** The leader's own counters, for status and /metrics. */
  bridgeProgress(): BridgeProgress {
    return {
      leaseKeepAliveFailovers: this.leadership.keepAliveFailovers,
      commitFailures: this.committer.failures.entries(),
    };
  }

  isIdle(): boolean {
    return [...this.workers.values()].every((w) => w.isIdle()) && this.committer.pendingCount === 0;
  }

  onFatal(listener: (error: Error) => void): void {
    if (this.fatalError) listener(this.fatalError);
    else this.fatalListeners.push(listener);
  }

  get fatal(): Error | undefined {
    return this.fatalError;
  }

  private fail(error: Error): void {
    if (this.fatalError) return;
    this.fatalError = error;
    this.logger.log('error', 'bridge stops', { error: error.message });
    for (const worker of this.workers.values()) worker.stop();
    clearInterval(this.flushTimer);
    this.statusPublisher?.stop();
    for (const listener of this.fatalListeners) listener(error);
  }

  /** Drain: stop watching, let batches in flight commit, resign, disconnect. */
  stop(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.flushTimer);
      this.statusPublisher?.stop();
      for (const worker of this.workers.values()) worker.stop();
      const drained = Promise.all([...this.workers.values()].map((w) => w.idle())).then(() =>
        this.committer.idle(),
      );
      await Promise.race([
        drained,
        new Promise((resolve) => setTimeout(resolve, options.drainTimeoutMs ?? 10_000).unref()),
      ]);
      if (!this.fatalError) {
        await this.committer.flushCheckpoints([...this.workers.keys()]).catch(() => {});
      }
      await this.leadership.resign();
      await this.invoker.close?.();
      if (this.ownsClient) this.client.close();
    })();
    return this.stopping;
  }
}

/** Committed outputs go to every route whose prefix holds them (stage heat-stacks' job_state → job-state). */
function handOffTo(workers: ReadonlyMap<string, RouteWorker>): HandOffTarget {
  const consumers = (key: string) => [...workers.values()].filter((worker) => key.startsWith(worker.prefix));
  return {
    consumes: (key) => consumers(key).length > 0,
    readsFor: (key) => consumers(key).flatMap((worker) => worker.readsFor(key)),
    offer: (puts) => {
      // Per route, one call with all of the transaction's puts it consumes (its batches form once).
      for (const worker of workers.values()) {
        const mine = puts.filter((put) => put.key.startsWith(worker.prefix));
        if (mine.length > 0) worker.offer(mine);
      }
    },
  };
}
