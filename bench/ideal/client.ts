/**
 * The ideal client: the pipeline's etcd work and nothing else, to measure the bridge against the
 * limit of its own design on this machine. Its outputs are precomputed (outputs.ts), so there is no
 * transform, validation, contract record or invoke; what is left is what the design asks of etcd:
 *
 *   - the two watches, on the heat_stacks and job_state prefixes, from one revision (PrefixWatch,
 *     the bridge's own watch);
 *   - per transaction, each route's snapshot read at one revision: its records' applied markers and
 *     the keys the route reads for them (readSnapshot, the bridge's own read);
 *   - group commit (transaction.ts): the leader fence, a marker compare and put a record, its
 *     outputs (job_state; state with the nested conditional delete of job_state), each route's
 *     checkpoint, ~44 records a transaction.
 *
 * A record is taken as soon as a transaction slot is free (no batching window: what piles up
 * behind the transactions in flight is what gets batched), and one route's key is in at most one
 * transaction at a time, so each key's revisions commit in order and each marker compare holds.
 */
import type { Etcd3, ICompare } from 'etcd3';
import { compare, MAX_TXN_OPS, op } from '../../bridge/etcd/ops.js';
import { RouteReads } from '../../bridge/invoke/stage-record.js';
import { type Keyspace, keyspaceFor } from '../../bridge/keyspace.js';
import { PrefixWatch, type SourceEvent } from '../../bridge/source/prefix-watch.js';
import { readSnapshot } from '../../bridge/source/snapshot.js';
import { DEFAULT_ROUTES, type Mutation, RouteSchema } from '../../shared/index.js';
import type { IdealOutputs } from './outputs.js';
import { busyKey, type Checkpoint, commitTxn, type IdealRecord, takeTransaction } from './transaction.js';

export interface IdealClientOptions {
  /** Names the bookkeeping keys (`/_etcd-bridge/<group>/…`), as a bridge group does. */
  readonly group: string;
  /** The first revision both watches deliver. */
  readonly fromRevision: bigint;
  /** Transactions (each with its snapshot reads before it) in flight at once. */
  readonly transactionsInFlight: number;
  /** etcd's --max-txn-ops. */
  readonly maxOps?: number;
}

export interface IdealStats {
  transactions: number;
  records: number;
}

interface IdealRoute {
  readonly name: string;
  readonly reads: RouteReads;
  /** The precomputed answer of the route's stage for this revision of `key`. */
  readonly answer: (key: string, revision: bigint) => readonly Mutation[] | undefined;
}

export class IdealClient {
  readonly stats: IdealStats = { transactions: 0, records: 0 };
  private waiting: IdealRecord[] = [];
  private readonly busy = new Set<string>();
  private readonly lastCheckpoint = new Map<string, bigint>();
  private readonly watches: PrefixWatch[] = [];
  private readonly routes: ReadonlyMap<string, IdealRoute>;
  private readonly maxOps: number;
  private readonly keyspace: Keyspace;
  private inFlight = 0;
  private stopped = false;
  private failure: Error | undefined;

  private constructor(
    private readonly client: Etcd3,
    outputs: IdealOutputs,
    private readonly fence: ICompare,
    private readonly options: IdealClientOptions,
  ) {
    this.maxOps = options.maxOps ?? MAX_TXN_OPS;
    this.keyspace = keyspaceFor(options.group);
    const answers: Record<string, IdealRoute['answer']> = {
      'heat-stacks': (key) => outputs.takeHeatStack(key),
      'job-state': (key, revision) => outputs.takeJobState(key, revision),
    };
    this.routes = new Map(
      DEFAULT_ROUTES.map((input) => {
        const route = RouteSchema.parse(input);
        const answer = answers[route.name];
        if (!answer) throw new Error(`ideal client: no precomputed outputs for route ${route.name}`);
        return [route.name, { name: route.name, reads: new RouteReads(route), answer }];
      }),
    );
  }

  /** The reads route `job-state` makes for a job_state key: what the outputs are computed from. */
  static jobStateReads(): (jobStateKey: string) => readonly string[] {
    const route = DEFAULT_ROUTES.find((r) => r.name === 'job-state');
    if (!route) throw new Error('no job-state route in DEFAULT_ROUTES');
    const reads = new RouteReads(RouteSchema.parse(route));
    return (key) => reads.keysFor(key);
  }

  static async start(
    client: Etcd3,
    outputs: IdealOutputs,
    options: IdealClientOptions,
  ): Promise<IdealClient> {
    const fence = await holdLeaderKey(client, options.group);
    const ideal = new IdealClient(client, outputs, fence, options);
    for (const route of ideal.routes.values()) {
      const watch = new PrefixWatch(client, route.reads.pattern.prefix, {
        onEvents: (events) => ideal.onEvents(route, events),
        onCompacted: (revision) => ideal.fail(new Error(`ideal client: watch compacted at ${revision}`)),
      });
      ideal.watches.push(watch);
      watch.start(options.fromRevision);
    }
    return ideal;
  }

  /** Throws what stopped the client, if something did. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const watch of this.watches) watch.stop();
  }

  private onEvents(route: IdealRoute, events: readonly SourceEvent[]): void {
    for (const event of events) {
      // Deletes are not the routes' event type (the job_state deletes this client makes itself).
      if (event.type !== 'put') continue;
      const mutations = route.answer(event.key, event.revision);
      if (!mutations) {
        this.fail(new Error(`ideal client: no precomputed output for ${route.name} ${event.key}`));
        return;
      }
      this.waiting.push({
        route: route.name,
        key: event.key,
        revision: event.revision,
        markerKey: this.keyspace.applied(route.name, event.key),
        markerModRevision: '0',
        mutations,
      });
    }
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.inFlight < this.options.transactionsInFlight && this.waiting.length > 0) {
      const { taken, rest } = takeTransaction(this.waiting, this.busy, this.maxOps);
      if (taken.length === 0) return;
      this.waiting = rest;
      for (const record of taken) this.busy.add(busyKey(record));
      this.inFlight++;
      void this.commit(taken)
        .catch((error: unknown) => this.fail(error instanceof Error ? error : new Error(String(error))))
        .finally(() => {
          for (const record of taken) this.busy.delete(busyKey(record));
          this.inFlight--;
          this.pump();
        });
    }
  }

  /** Each route's snapshot read for its records, then the one transaction that commits them all. */
  private async commit(records: readonly IdealRecord[]): Promise<void> {
    const byRoute = new Map<string, IdealRecord[]>();
    for (const record of records) {
      const list = byRoute.get(record.route);
      if (list) list.push(record);
      else byRoute.set(record.route, [record]);
    }
    await Promise.all(
      [...byRoute].map(async ([name, list]) => {
        const reads = this.routes.get(name)!.reads;
        const snapshot = await readSnapshot(
          this.client,
          list.flatMap((r) => [r.markerKey, ...reads.keysFor(r.key)]),
          this.maxOps,
        );
        for (const r of list) r.markerModRevision = snapshot.entries.get(r.markerKey)?.modRevision ?? '0';
      }),
    );
    const checkpoints = this.checkpoints(byRoute);
    const result = await this.client.kv.txn(commitTxn(records, this.fence, checkpoints));
    if (!result.succeeded)
      throw new Error('ideal client: a commit compare failed (the fence or a marker): a bug of the client');
    for (const checkpoint of checkpoints) this.lastCheckpoint.set(checkpoint.key, checkpoint.revision);
    this.stats.transactions++;
    this.stats.records += records.length;
  }

  /**
   * A checkpoint put for each route in the transaction, when it moves on: the same operation as
   * the bridge's. Its value is the route's newest revision in the transaction, not a safe resume
   * point: this client never resumes, and the put costs etcd the same either way.
   */
  private checkpoints(byRoute: ReadonlyMap<string, readonly IdealRecord[]>): Checkpoint[] {
    const checkpoints: Checkpoint[] = [];
    for (const [route, records] of byRoute) {
      const key = this.keyspace.checkpoint(route);
      let revision = 0n;
      for (const record of records) if (record.revision > revision) revision = record.revision;
      if (revision > (this.lastCheckpoint.get(key) ?? 0n)) checkpoints.push({ key, revision });
    }
    return checkpoints;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    void this.stop();
  }
}

/**
 * The key every commit's fence compares, as a bridge's election key: created once, its create
 * revision compared. (The bridge's key also carries a lease kept alive; that is a few requests a
 * second, not the commit path's work.)
 */
async function holdLeaderKey(client: Etcd3, group: string): Promise<ICompare> {
  const key = `${keyspaceFor(group).root}election/leader/ideal`;
  const result = await client.kv.txn({
    compare: [compare.createRevision(key, '0')],
    success: [op.put(key, 'ideal')],
    failure: [],
  });
  if (!result.succeeded) throw new Error(`ideal client: ${key} exists already`);
  return compare.createRevision(key, result.header.revision);
}
