/**
 * The bridge's status where an operator can read it: the leader publishes `bridge.status()` (the
 * numbers that only exist inside it: records in flight, batches, stats) every ~2 s to
 * `<keyspace root>status`, in a transaction guarded by the leader fence, so a deposed bridge
 * cannot overwrite its successor's. `etcd-bridge status` combines it with what etcd itself knows
 * (checkpoints, head revision, the election, dead-letter counts).
 *
 * Nothing from the configuration but the group goes into it: no endpoint, password or key.
 */
import type { Etcd3 } from 'etcd3';
import { z } from 'zod';
import type { Bridge } from './bridge.js';
import type { DeadLetterQueue } from './dlq/sink.js';
import { errorMessage } from './errors.js';
import { op, prefixRangeEnd } from './etcd/ops.js';
import type { Keyspace } from './keyspace.js';

export const STATUS_INTERVAL_MS = 2_000;
/** A published status older than this is marked stale (the leader is gone or stuck). */
export const STATUS_STALE_MS = 10_000;

export function statusKey(keyspace: Keyspace): string {
  return `${keyspace.root}status`;
}

const PublishedRouteSchema = z.looseObject({
  route: z.string(),
  prefix: z.string(),
  function: z.string(),
  checkpoint: z.string().nullable(),
  handledThrough: z.string(),
  /** Records held: queued, invoking or committing. */
  held: z.number(),
  inFlightBatches: z.number(),
  watch: z.string(),
  watchReconnects: z.number(),
  /** The leader's own lag: 0 while the route holds nothing and watches live. */
  lagRevisions: z.string(),
  lagSeconds: z.number(),
  stats: z.record(z.string(), z.number()),
});
export type PublishedRoute = z.infer<typeof PublishedRouteSchema>;

export const PublishedStatusSchema = z.looseObject({
  bridgeId: z.string(),
  group: z.string(),
  publishedAt: z.string(),
  headRevision: z.string(),
  routes: z.array(PublishedRouteSchema),
});
export type PublishedStatus = z.infer<typeof PublishedStatusSchema>;

type StatusSource = Pick<Bridge, 'client' | 'keyspace' | 'bridgeId' | 'leadership' | 'routes' | 'status'> & {
  readonly config: { readonly group: string };
};

/** The status the leader publishes, as of now. */
export async function collectStatus(bridge: StatusSource, now = new Date()): Promise<PublishedStatus> {
  const head = BigInt((await bridge.client.get(statusKey(bridge.keyspace)).exec()).header.revision);
  const workers = new Map(bridge.routes.map((w) => [w.route.name, w]));
  return {
    bridgeId: bridge.bridgeId,
    group: bridge.config.group,
    publishedAt: now.toISOString(),
    headRevision: head.toString(),
    routes: bridge.status().map((route) => {
      const worker = workers.get(route.route);
      return {
        ...route,
        stats: { ...route.stats },
        lagRevisions: (worker?.lagRevisions(head) ?? 0n).toString(),
        lagSeconds: worker?.lagSeconds(now.getTime()) ?? 0,
      };
    }),
  };
}

/** Publishes the leader's status every `intervalMs` until stopped; one write at a time. */
export class StatusPublisher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  private constructor(
    private readonly bridge: StatusSource,
    private readonly log: (message: string, fields: Record<string, unknown>) => void,
  ) {}

  static start(
    bridge: StatusSource,
    options: { intervalMs?: number; log?: (message: string, fields: Record<string, unknown>) => void } = {},
  ): StatusPublisher {
    const publisher = new StatusPublisher(bridge, options.log ?? (() => {}));
    publisher.tick();
    publisher.timer = setInterval(() => publisher.tick(), options.intervalMs ?? STATUS_INTERVAL_MS);
    publisher.timer.unref();
    return publisher;
  }

  /** Write the status now; false when the fence failed (this bridge no longer leads). */
  async publish(): Promise<boolean> {
    const status = await collectStatus(this.bridge);
    const result = await this.bridge.client.kv.txn({
      compare: [this.bridge.leadership.fence()],
      success: [op.put(statusKey(this.bridge.keyspace), JSON.stringify(status))],
      failure: [],
    });
    return result.succeeded;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private tick(): void {
    if (this.stopped || this.running) return;
    this.running = this.publish()
      .then((published) => {
        // The committer finds out too, and stops the bridge; here it is only the end of publishing.
        if (!published) this.stop();
      })
      .catch((error: unknown) => this.log('status publish failed', { error: errorMessage(error) }))
      .finally(() => {
        this.running = undefined;
      });
  }
}

export interface RouteReport {
  route: string;
  /** Highest revision the route has fully handled (from etcd); null before it ever started. */
  checkpoint: string | null;
  headRevision: string;
  /** head − checkpoint: every etcd revision since the checkpoint, this route's or not. */
  lag: string | null;
  /** Records the leader holds for the route; null without a fresh published status. */
  inFlight: number | null;
  inFlightBatches: number | null;
  /** Records in the route's dead-letter queue; null when the queue could not be asked. */
  deadLettered: number | null;
  deadLetterError?: string;
  /** As the leader published it, stale or not; absent when it never did. */
  published?: PublishedRoute;
}

export interface StatusReport {
  group: string;
  headRevision: string;
  /** The bridge id elected now (from the election keys); null when none leads. */
  leader: string | null;
  /** The leader's last published status: who, when, and whether it is too old to trust. */
  published: { bridgeId: string; publishedAt: string; ageMs: number; stale: boolean } | null;
  deadLetterSink: 'etcd' | 'sqs';
  routes: RouteReport[];
}

/** Read the status of a group: etcd's own bookkeeping, the election, the DLQ and the published status. */
export async function readStatus(options: {
  client: Etcd3;
  keyspace: Keyspace;
  group: string;
  /** Routes of the configuration; routes only the published status names are added. */
  routes: readonly string[];
  queue: DeadLetterQueue;
  now?: number;
}): Promise<StatusReport> {
  const { client, keyspace, queue } = options;
  const now = options.now ?? Date.now();
  const electionPrefix = `${keyspace.root}election/leader/`;

  const stored = await client.get(statusKey(keyspace)).exec();
  const head = stored.header.revision;
  let published: PublishedStatus | undefined;
  const text = stored.kvs[0]?.value.toString('utf8');
  if (text !== undefined) {
    const parsed = PublishedStatusSchema.safeParse(safeJson(text));
    if (parsed.success) published = parsed.data;
  }
  const election = await client.kv.range({
    key: Buffer.from(electionPrefix, 'utf8'),
    range_end: prefixRangeEnd(electionPrefix),
    sort_target: 'Create',
    sort_order: 'Ascend',
    limit: 1,
    revision: head,
  });
  const leader = election.kvs[0]?.value.toString('utf8') ?? null;

  const ageMs = published ? now - Date.parse(published.publishedAt) : 0;
  const stale = !published || ageMs > STATUS_STALE_MS || published.bridgeId !== leader;
  const names = [...options.routes];
  for (const r of published?.routes ?? []) if (!names.includes(r.route)) names.push(r.route);

  const routes: RouteReport[] = [];
  for (const name of names) {
    const checkpointText = (
      await client.get(keyspace.checkpoint(name)).revision(head).exec()
    ).kvs[0]?.value.toString('utf8');
    const checkpoint = checkpointText === undefined ? null : BigInt(checkpointText).toString();
    const fromLeader = published?.routes.find((r) => r.route === name);
    let deadLettered: number | null = null;
    let deadLetterError: string | undefined;
    try {
      deadLettered = await queue.count(name);
    } catch (error) {
      deadLetterError = errorMessage(error);
    }
    routes.push({
      route: name,
      checkpoint,
      headRevision: head,
      lag: checkpoint === null ? null : (BigInt(head) - BigInt(checkpoint)).toString(),
      inFlight: fromLeader && !stale ? fromLeader.held : null,
      inFlightBatches: fromLeader && !stale ? fromLeader.inFlightBatches : null,
      deadLettered,
      ...(deadLetterError === undefined ? {} : { deadLetterError }),
      ...(fromLeader ? { published: fromLeader } : {}),
    });
  }
  return {
    group: options.group,
    headRevision: head,
    leader,
    published: published
      ? { bridgeId: published.bridgeId, publishedAt: published.publishedAt, ageMs, stale }
      : null,
    deadLetterSink: queue.kind,
    routes,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
