/**
 * The leader's half of `etcd-bridge status`: every ~2 s it writes its routes' status (what only
 * exists inside it: records held, batches, stats, lag) to `<keyspace root>status`, in a
 * transaction guarded by the leader fence, so a deposed bridge cannot overwrite its successor's.
 */
import type { Etcd3, ICompare } from 'etcd3';
import { errorMessage } from '../errors.js';
import { headRevision } from '../etcd/head.js';
import { op } from '../etcd/ops.js';
import { classify, isPressure } from '../failure/classify.js';
import { type PublishedStatus, STATUS_INTERVAL_MS } from './schema.js';
import type { StatusSource } from './source.js';

export interface StatusPublisherDeps {
  readonly client: Etcd3;
  /** Where the status goes: `statusKey(keyspace)`. */
  readonly key: string;
  /** The leader fence: the write happens only while this bridge leads. */
  readonly fence: () => ICompare;
  readonly source: StatusSource;
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

/** The status the leader publishes, as of `now`. */
export async function collectStatus(
  client: Etcd3,
  source: StatusSource,
  now = Date.now(),
): Promise<PublishedStatus> {
  const [head, routes] = await Promise.all([headRevision(client), source.routeStatuses(now)]);
  return {
    bridgeId: source.bridgeId,
    group: source.group,
    publishedAt: new Date(now).toISOString(),
    headRevision: head.toString(),
    routes,
    ...(source.bridgeProgress ? { bridge: source.bridgeProgress() } : {}),
  };
}

/** Publishes the leader's status every `intervalMs` until stopped; one write at a time. */
export class StatusPublisher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  private constructor(private readonly deps: StatusPublisherDeps) {}

  static start(deps: StatusPublisherDeps, intervalMs = STATUS_INTERVAL_MS): StatusPublisher {
    const publisher = new StatusPublisher(deps);
    publisher.tick();
    publisher.timer = setInterval(() => publisher.tick(), intervalMs);
    publisher.timer.unref();
    return publisher;
  }

  /** Write the status now; false when the fence failed (this bridge no longer leads). */
  async publish(): Promise<boolean> {
    const { client, key, fence, source } = this.deps;
    const status = await collectStatus(client, source);
    const result = await client.kv.txn({
      compare: [fence()],
      success: [op.put(key, JSON.stringify(status))],
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
      .catch((error: unknown) => {
        // etcd refusing writes for pressure is the committer's to tell, once an episode.
        if (!isPressure(classify(error)))
          this.deps.log?.('status publish failed', { error: errorMessage(error) });
      })
      .finally(() => {
        this.running = undefined;
      });
  }
}
