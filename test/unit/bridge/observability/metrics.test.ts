/**
 * The /metrics text the status gives: the watch's reconnects per route, the lease keep-alive's
 * failovers, and the failures by classification, per route and (without a route) the commit
 * transactions'. A registry of its own per test (no HTTP listener: port 0).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../bridge/log.js';
import { type Observability, startObservability } from '../../../../bridge/observability/server.js';
import type { BridgeProgress, RouteStatus } from '../../../../bridge/status/schema.js';
import type { StatusSource } from '../../../../bridge/status/source.js';
import { newRouteStats } from '../../../../bridge/worker/stats.js';
import { routeStatus } from '../../../helpers/route-status.js';

function source(routes: RouteStatus[], progress?: BridgeProgress): StatusSource {
  return {
    bridgeId: 'b1',
    group: 'g',
    fatal: undefined,
    status: () => routes,
    routeStatuses: async () => routes,
    isIdle: () => true,
    ...(progress ? { bridgeProgress: () => progress } : {}),
  };
}

let observability: Observability | undefined;
afterEach(async () => {
  await observability?.close();
  observability = undefined;
});

async function metricsOf(bridge: StatusSource): Promise<string[]> {
  observability = await startObservability({ port: 0 }, silentLogger);
  observability.attach(bridge);
  return (await observability.registry.metrics()).split('\n');
}

describe('/metrics', () => {
  it("counts each route's watch reconnects", async () => {
    const lines = await metricsOf(
      source([
        routeStatus('heat-stacks', { watchReconnects: 3 }),
        routeStatus('job-state', { watchReconnects: 0 }),
      ]),
    );

    expect(lines).toContain('# TYPE etcd_bridge_watch_reconnects_total counter');
    expect(lines).toContain('etcd_bridge_watch_reconnects_total{route="heat-stacks"} 3');
    expect(lines).toContain('etcd_bridge_watch_reconnects_total{route="job-state"} 0');
  });

  it('counts hand-offs taken and declined per route (0 for a status without them)', async () => {
    const stats = { ...newRouteStats(), handOffsTaken: 7, handOffsDeclined: 2 };
    // An older bridge's status has no hand-off fields.
    const { handOffsTaken: _taken, handOffsDeclined: _declined, ...older } = newRouteStats();
    const lines = await metricsOf(
      source([routeStatus('job-state', { stats }), routeStatus('heat-stacks', { stats: older })]),
    );

    expect(lines).toContain('etcd_bridge_hand_offs_total{route="job-state",outcome="taken"} 7');
    expect(lines).toContain('etcd_bridge_hand_offs_total{route="job-state",outcome="declined"} 2');
    expect(lines).toContain('etcd_bridge_hand_offs_total{route="heat-stacks",outcome="taken"} 0');
  });

  it("counts the lease keep-alive's failovers and the commit transactions' failures (a counter of their own)", async () => {
    const lines = await metricsOf(
      source(
        [
          routeStatus('heat-stacks', {
            failures: [{ verdict: 'retry', reason: 'function-error', count: 2 }],
          }),
        ],
        {
          leaseKeepAliveFailovers: 4,
          commitFailures: [
            { verdict: 'retry', reason: 'etcd-unavailable', count: 5 },
            { verdict: 'retry', reason: 'etcd-no-space', count: 1 },
          ],
        },
      ),
    );

    expect(lines).toContain('etcd_bridge_lease_keepalive_failovers_total 4');
    expect(lines).toContain(
      'etcd_bridge_failures_total{route="heat-stacks",verdict="retry",reason="function-error"} 2',
    );
    expect(lines).toContain('etcd_bridge_commit_failures_total{verdict="retry",reason="etcd-unavailable"} 5');
    expect(lines).toContain('etcd_bridge_commit_failures_total{verdict="retry",reason="etcd-no-space"} 1');
    // Only route series in the route counter: a sum over it counts each failure once.
    const routeless = lines.filter(
      (l) => l.startsWith('etcd_bridge_failures_total{') && !l.includes('route='),
    );
    expect(routeless).toEqual([]);
  });

  it('reads a source without the bridge-wide counters (0 failovers, route failures only)', async () => {
    const lines = await metricsOf(source([routeStatus('job-state')]));

    expect(lines).toContain('etcd_bridge_lease_keepalive_failovers_total 0');
    expect(lines.filter((l) => l.startsWith('etcd_bridge_failures_total{'))).toEqual([]);
    expect(lines.filter((l) => l.startsWith('etcd_bridge_commit_failures_total{'))).toEqual([]);
  });
});
