/**
 * /healthz and /metrics (Prometheus, prom-client) for the bridge; in ECS also the lag as CloudWatch
 * EMF lines (namespace EtcdBridge, dimension Route), which the CDK stack alarms on.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Bridge } from '../bridge.js';
import type { BridgeConfig } from '../config.js';
import { headRevision } from '../etcd/head.js';
import type { BridgeLogger } from '../log.js';

export interface Observability {
  readonly url: string | undefined;
  readonly registry: Registry;
  attach(bridge: Bridge): void;
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

export async function startObservability(
  config: BridgeConfig['observability'],
  logger: BridgeLogger,
  emfIntervalMs = process.env.ECS_CONTAINER_METADATA_URI_V4 ? 60_000 : 0,
): Promise<Observability> {
  const registry = new Registry();
  let bridge: Bridge | undefined;
  const routes = () => bridge?.status() ?? [];

  let head = 0n;
  new Gauge({
    name: 'etcd_bridge_lag_revisions',
    help: 'etcd head revision minus the revision the route has handled through',
    labelNames: ['route'],
    registers: [registry],
    async collect() {
      if (!bridge) return;
      head = await headRevision(bridge.client).catch(() => head);
      for (const worker of bridge.routes)
        this.set({ route: worker.route.name }, Number(worker.lagRevisions(head)));
    },
  });
  new Gauge({
    name: 'etcd_bridge_lag_seconds',
    help: 'Age of the oldest record the route holds',
    labelNames: ['route'],
    registers: [registry],
    collect() {
      for (const worker of bridge?.routes ?? []) this.set({ route: worker.route.name }, worker.lagSeconds());
    },
  });
  new Gauge({
    name: 'etcd_bridge_in_flight_records',
    help: 'Records held by the route (queued, invoking or committing)',
    labelNames: ['route'],
    registers: [registry],
    collect() {
      for (const r of routes()) this.set({ route: r.route }, r.held);
    },
  });
  for (const [stat, help] of STAT_COUNTERS) {
    new Counter({
      name: `etcd_bridge_${stat.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`,
      help,
      labelNames: ['route'],
      registers: [registry],
      collect() {
        this.reset();
        for (const r of routes()) this.inc({ route: r.route }, r.stats[stat]);
      },
    });
  }
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
      server!.listen(config.port, config.host, () => resolve());
    });
    const address = server.address();
    url = typeof address === 'object' && address ? `http://${config.host}:${address.port}` : undefined;
    logger.log('info', 'observability listening', { url });
  }

  let emfTimer: NodeJS.Timeout | undefined;
  if (emfIntervalMs > 0) {
    emfTimer = setInterval(async () => {
      if (!bridge) return;
      head = await headRevision(bridge.client).catch(() => head);
      for (const worker of bridge.routes) {
        process.stdout.write(
          `${emfLine(worker.route.name, {
            LagRevisions: Number(worker.lagRevisions(head)),
            LagSeconds: worker.lagSeconds(),
            DeadLettered: worker.stats.deadLettered,
          })}\n`,
        );
      }
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
          Namespace: 'EtcdBridge',
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
