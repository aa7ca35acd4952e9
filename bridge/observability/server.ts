/**
 * /healthz and /metrics (Prometheus, prom-client) for the bridge; in ECS also the lag as CloudWatch
 * EMF lines (namespace EtcdBridge, dimension Route), which the CDK stack alarms on. Both read the
 * routes' status the leader publishes (StatusSource.routeStatuses), so `etcd-bridge status`,
 * /metrics and the EMF lines give one lag figure.
 */
import type { Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { METRICS_NAMESPACE } from '../../shared/names.js';
import type { BridgeConfig } from '../config.js';
import type { BridgeLogger } from '../log.js';
import { createServer } from '../node-http.js';
import type { RouteStatus } from '../status/schema.js';
import type { StatusSource } from '../status/source.js';

export interface Observability {
  readonly url: string | undefined;
  readonly registry: Registry;
  attach(bridge: StatusSource): void;
  invokeLatency(route: string, seconds: number): void;
  close(): Promise<void>;
}

const STAT_COUNTERS = [
  ['committed', 'Records whose outputs were committed'],
  ['retries', 'Retries scheduled (backoff)'],
  ['deadLettered', 'Records sent to the dead-letter queue'],
  ['resyncs', 'Resyncs after compaction'],
  ['skipped', 'Redelivered records found applied already'],
  ['received', 'Records received from the watch'],
] as const;

/** One scrape asks the bridge once, however many metrics read the answer. */
const SNAPSHOT_REUSE_MS = 250;

export async function startObservability(
  config: Pick<BridgeConfig['observability'], 'port'> & Partial<BridgeConfig['observability']>,
  logger: BridgeLogger,
): Promise<Observability> {
  const registry = new Registry();
  let bridge: StatusSource | undefined;
  let last: { at: number; routes: Promise<RouteStatus[]> } | undefined;
  const routes = async (): Promise<RouteStatus[]> => {
    if (!bridge) return [];
    const now = Date.now();
    if (!last || now - last.at > SNAPSHOT_REUSE_MS) {
      last = { at: now, routes: bridge.routeStatuses(now) };
      // A failed read is not kept: the next scrape asks again.
      last.routes.catch(() => {
        last = undefined;
      });
    }
    return last.routes;
  };

  new Gauge({
    name: 'etcd_bridge_lag_revisions',
    help: "Revisions under the route's own prefix that it has not processed yet",
    labelNames: ['route'],
    registers: [registry],
    async collect() {
      for (const r of await routes()) this.set({ route: r.route }, Number(r.lagRevisions));
    },
  });
  new Gauge({
    name: 'etcd_bridge_lag_seconds',
    help: 'Age of the oldest record the route holds',
    labelNames: ['route'],
    registers: [registry],
    async collect() {
      for (const r of await routes()) this.set({ route: r.route }, r.lagSeconds);
    },
  });
  new Gauge({
    name: 'etcd_bridge_in_flight_records',
    help: 'Records held by the route (queued, invoking or committing)',
    labelNames: ['route'],
    registers: [registry],
    async collect() {
      for (const r of await routes()) this.set({ route: r.route }, r.held);
    },
  });
  for (const [stat, help] of STAT_COUNTERS) {
    new Counter({
      name: `etcd_bridge_${stat.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`,
      help,
      labelNames: ['route'],
      registers: [registry],
      async collect() {
        const current = await routes();
        this.reset();
        for (const r of current) this.inc({ route: r.route }, r.stats[stat]);
      },
    });
  }
  new Counter({
    name: 'etcd_bridge_watch_reconnects_total',
    help: "Reconnects of the route's watch after a break (each on the next endpoint)",
    labelNames: ['route'],
    registers: [registry],
    async collect() {
      const current = await routes();
      this.reset();
      for (const r of current) this.inc({ route: r.route }, r.watchReconnects);
    },
  });
  new Counter({
    name: 'etcd_bridge_hand_offs_total',
    help: 'Records another route committed that were offered to this one: taken from the commit, or declined (left to the watch)',
    labelNames: ['route', 'outcome'],
    registers: [registry],
    async collect() {
      const current = await routes();
      this.reset();
      for (const r of current) {
        this.inc({ route: r.route, outcome: 'taken' }, r.stats.handOffsTaken ?? 0);
        this.inc({ route: r.route, outcome: 'declined' }, r.stats.handOffsDeclined ?? 0);
      }
    },
  });
  new Counter({
    name: 'etcd_bridge_batch_snapshots_total',
    help: 'Batches by where their snapshot came from: read from etcd, from the transaction that committed their records (hand-off), or none (a route that reads nothing)',
    labelNames: ['route', 'source'],
    registers: [registry],
    async collect() {
      const current = await routes();
      this.reset();
      for (const r of current) {
        this.inc({ route: r.route, source: 'read' }, r.stats.snapshotsRead ?? 0);
        this.inc({ route: r.route, source: 'commit' }, r.stats.snapshotsFromCommit ?? 0);
        this.inc({ route: r.route, source: 'none' }, r.stats.snapshotsSkipped ?? 0);
      }
    },
  });
  new Counter({
    name: 'etcd_bridge_failures_total',
    help: "Each route's failures by classification (verdict retry / terminal / fatal, and reason), one per failed attempt of a record or of the route's watch and reads",
    labelNames: ['route', 'verdict', 'reason'],
    registers: [registry],
    async collect() {
      const current = await routes();
      this.reset();
      for (const r of current)
        for (const f of r.failures ?? [])
          this.inc({ route: r.route, verdict: f.verdict, reason: f.reason }, f.count);
    },
  });
  // A counter of its own, not the series of etcd_bridge_failures_total without a route label: a
  // transaction carries records of every route, and a terminal one also fails each of its records
  // (counted above, per route), so one sum over both would count that failure twice.
  new Counter({
    name: 'etcd_bridge_commit_failures_total',
    help: 'Failed commit transactions by classification (verdict retry / terminal / fatal, and reason); one transaction carries records of every route',
    labelNames: ['verdict', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const f of bridge?.bridgeProgress?.().commitFailures ?? [])
        this.inc({ verdict: f.verdict, reason: f.reason }, f.count);
    },
  });
  new Counter({
    name: 'etcd_bridge_lease_keepalive_failovers_total',
    help: "Failures of the leader lease's keep-alive stream, each followed by a move to the next endpoint",
    registers: [registry],
    collect() {
      this.reset();
      const progress = bridge?.bridgeProgress?.();
      if (progress) this.inc(progress.leaseKeepAliveFailovers);
    },
  });
  new Gauge({
    name: 'etcd_bridge_commits_paused',
    help: "1 while etcd refuses the route's commits for pressure (out of space, too many requests), by reason",
    labelNames: ['route', 'reason'],
    registers: [registry],
    async collect() {
      const current = await routes();
      this.reset();
      for (const r of current) if (r.commitsPaused) this.set({ route: r.route, reason: r.commitsPaused }, 1);
    },
  });
  new Gauge({
    name: 'etcd_bridge_leader',
    help: '1 while this bridge leads its group',
    registers: [registry],
    collect() {
      this.set(bridge && !bridge.fatal ? 1 : 0);
    },
  });
  const latency = new Histogram({
    name: 'etcd_bridge_invoke_duration_seconds',
    help: 'Stage function invocation latency (one batch)',
    labelNames: ['route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const host = config.host ?? '127.0.0.1';
  let server: Server | undefined;
  let url: string | undefined;
  if (config.port !== 0) {
    server = createServer((req, res) => {
      if (req.url === '/healthz') {
        // A standby (still campaigning) is healthy too: only a bridge that has failed is not.
        const failed = bridge?.fatal;
        res.writeHead(failed ? 503 : 200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            status: failed ? 'failed' : 'ok',
            leader: Boolean(bridge && !failed),
            error: failed?.message,
          }),
        );
        return;
      }
      if (req.url === '/metrics') {
        registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': registry.contentType });
            res.end(text);
          },
          (error: unknown) => {
            res.writeHead(500);
            res.end(String(error));
          },
        );
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try /healthz or /metrics\n');
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(config.port, host, () => resolve());
    });
    const address = server.address();
    url = typeof address === 'object' && address ? `http://${host}:${address.port}` : undefined;
    logger.log('info', 'observability listening', { url });
  }

  let emfTimer: NodeJS.Timeout | undefined;
  const emfIntervalMs = config.emfIntervalMs ?? 0;
  // CloudWatch sums DeadLettered per period (the dashboard's Sum): each line carries the records
  // dead-lettered since the previous one, not the route's running total.
  const deadLetteredBefore = new Map<string, number>();
  if (emfIntervalMs > 0) {
    emfTimer = setInterval(() => {
      routes().then(
        (current) => {
          for (const r of current) {
            const values = emfValues(r);
            const total = values.DeadLettered;
            values.DeadLettered = Math.max(0, total - (deadLetteredBefore.get(r.route) ?? 0));
            deadLetteredBefore.set(r.route, total);
            process.stdout.write(`${emfLine(r.route, values)}\n`);
          }
        },
        (error: unknown) => logger.log('warn', 'EMF metrics skipped', { error: String(error) }),
      );
    }, emfIntervalMs);
    emfTimer.unref();
  }

  return {
    url,
    registry,
    attach: (b) => {
      bridge = b;
    },
    invokeLatency: (route, seconds) => latency.observe({ route }, seconds),
    close: async () => {
      clearInterval(emfTimer);
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    },
  };
}

/** The figures of one route's EMF line: the same as its /metrics gauges. */
export function emfValues(route: RouteStatus): {
  LagRevisions: number;
  LagSeconds: number;
  DeadLettered: number;
} {
  return {
    LagRevisions: Number(route.lagRevisions),
    LagSeconds: route.lagSeconds,
    DeadLettered: route.stats.deadLettered,
  };
}

/**
 * One CloudWatch Embedded Metric Format line, with `Route` as the only dimension: the CDK alarms
 * match on exactly that (Powertools Metrics would add a `service` dimension of its own).
 */
export function emfLine(
  route: string,
  values: { LagRevisions: number; LagSeconds: number; DeadLettered: number },
): string {
  return JSON.stringify({
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [['Route']],
          Metrics: [
            { Name: 'LagRevisions', Unit: 'Count' },
            { Name: 'LagSeconds', Unit: 'Seconds' },
            { Name: 'DeadLettered', Unit: 'Count' },
          ],
        },
      ],
    },
    Route: route,
    ...values,
  });
}
