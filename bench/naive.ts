/**
 * Phase 2's baseline, the obvious implementation: one etcd3 watcher over both stages' prefixes,
 * and for each event in turn — read what the stage needs, await the stage function (the same
 * handlers, in-process), then await one put or delete per mutation. No batching, no group commit,
 * no applied markers (so it does less than the bridge: no exactly-once, no checkpoint).
 */
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { compare, op } from '../bridge/etcd/ops.js';
import type { Invoker } from '../bridge/invoke/invoker.js';
import {
  compileKeyPattern,
  DEFAULT_ROUTES,
  type KeyPattern,
  type Mutation,
  RouteSchema,
  type StageRecord,
} from '../shared/index.js';

interface NaiveRoute {
  readonly name: string;
  readonly function: string;
  readonly pattern: KeyPattern;
  readonly reads: readonly KeyPattern[];
}

const ROUTES: readonly NaiveRoute[] = DEFAULT_ROUTES.map((input) => {
  const route = RouteSchema.parse(input);
  return {
    name: route.name,
    function: route.function,
    pattern: compileKeyPattern(route.keyPattern),
    reads: route.reads.map((template) => compileKeyPattern(template)),
  };
});

/** The common prefix of both routes: one watch serves them. */
const WATCH_PREFIX = '/esi-worker/';

export class NaiveBridge {
  processed = 0;
  failed = 0;
  private readonly queue: IKeyValue[] = [];
  private running = false;
  private watcher: Watcher | undefined;
  private error: Error | undefined;

  private constructor(
    private readonly client: Etcd3,
    private readonly invoker: Invoker,
  ) {}

  static async start(client: Etcd3, invoker: Invoker, fromRevision: bigint): Promise<NaiveBridge> {
    const bridge = new NaiveBridge(client, invoker);
    const watcher = await client.watch().prefix(WATCH_PREFIX).startRevision(fromRevision.toString()).create();
    bridge.watcher = watcher;
    watcher.on('put', (kv) => {
      bridge.queue.push(kv);
      if (!bridge.running) void bridge.drain();
    });
    watcher.on('error', (error) => {
      bridge.error = error;
    });
    return bridge;
  }

  /** Throws what stopped the loop, if anything did. */
  check(): void {
    if (this.error) throw this.error;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let kv = this.queue.shift(); kv; kv = this.queue.shift()) {
        await this.handle(kv);
        this.processed++;
      }
    } catch (error) {
      this.error = error instanceof Error ? error : new Error(String(error));
    } finally {
      this.running = false;
    }
  }

  private async handle(kv: IKeyValue): Promise<void> {
    const key = kv.key.toString('utf8');
    const route = ROUTES.find((r) => r.pattern.match(key));
    if (!route) return;
    const parts = route.pattern.match(key)!;
    const reads: Record<string, string | null> = {};
    for (const read of route.reads) {
      const readKey = read.build(parts);
      reads[readKey] = await this.client.get(readKey).string();
    }
    const record: StageRecord = {
      id: '0',
      type: 'put',
      key,
      value: kv.value.toString('utf8'),
      modRevision: kv.mod_revision,
      reads,
    };
    const response = await this.invoker.invoke(route.function, { route: route.name, records: [record] });
    this.failed += response.batchItemFailures.length;
    for (const result of response.results) {
      for (const mutation of result.mutations) await this.apply(mutation);
    }
  }

  private async apply(mutation: Mutation): Promise<void> {
    if (mutation.op === 'put') {
      await this.client.put(mutation.key).value(mutation.value);
    } else if (mutation.ifModRevision !== undefined) {
      await this.client.kv.txn({
        compare: [compare.modRevision(mutation.key, mutation.ifModRevision)],
        success: [op.delete(mutation.key)],
        failure: [],
      });
    } else {
      await this.client.delete().key(mutation.key);
    }
  }

  async stop(): Promise<void> {
    await this.watcher?.cancel();
  }
}
