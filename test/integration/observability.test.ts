import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/bridge.js';
import { freePort } from '../../bridge/etcd/embedded-etcd.js';
import { silentLogger } from '../../bridge/log.js';
import { emfLine, type Observability, startObservability } from '../../bridge/observability/server.js';
import { startBridge } from '../helpers/bridge.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { seed } from '../helpers/seed.js';
import { waitFor } from '../helpers/wait.js';

describe('/healthz and /metrics', () => {
  let fixture: EtcdFixture;
  let observability: Observability;
  let bridge: Bridge;

  beforeAll(async () => {
    fixture = await startEtcd();
    observability = await startObservability({ port: await freePort(), host: '127.0.0.1' }, silentLogger);
    bridge = await startBridge(fixture, {}, { invokeLatency: observability.invokeLatency });
    observability.attach(bridge);
  });

  afterAll(async () => {
    await bridge?.stop();
    await observability?.close();
    await stopEtcd(fixture);
  });

  it('report health, and per route lag, in flight, committed, dead-lettered, latency and leadership', async () => {
    // Prepare
    await fixture.client.put(seed.heatStack.key).value(seed.heatStack.value);
    await fixture.client.put('/esi-worker/heat_stacks/v2.0/ports/bad').value('not json');
    await waitFor(
      'the state record',
      async () => (await fixture.client.get(seed.state.key).string()) ?? undefined,
    );
    await waitFor('the dead letter', () => bridge.route('heat-stacks')!.stats.deadLettered === 1);

    // Act
    const health = await fetch(`${observability.url}/healthz`);
    const metrics = await (await fetch(`${observability.url}/metrics`)).text();

    // Assess
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', leader: true });
    expect(metrics).toMatch(/etcd_bridge_lag_revisions\{route="heat-stacks"\} 0/);
    expect(metrics).toMatch(/etcd_bridge_lag_seconds\{route="job-state"\} 0/);
    expect(metrics).toMatch(/etcd_bridge_in_flight_records\{route="job-state"\} 0/);
    expect(metrics).toMatch(/etcd_bridge_committed_total\{route="heat-stacks"\} 1/);
    expect(metrics).toMatch(/etcd_bridge_committed_total\{route="job-state"\} 1/);
    expect(metrics).toMatch(/etcd_bridge_dead_lettered_total\{route="heat-stacks"\} 1/);
    expect(metrics).toMatch(/etcd_bridge_invoke_duration_seconds_count\{route="heat-stacks"\} [1-9]/);
    expect(metrics).toMatch(/etcd_bridge_resyncs_total\{route="job-state"\} 0/);
    expect(metrics).toMatch(/etcd_bridge_leader 1/);
    expect(metrics).toMatch(/etcd_bridge_watch_reconnects_total\{route="job-state"\} \d+/);
    expect(metrics).toMatch(/etcd_bridge_lease_keepalive_failovers_total \d+/);
    expect((await fetch(`${observability.url}/nope`)).status).toBe(404);
  });

  it('EMF lines carry Route as their only dimension, as the CDK alarms expect', () => {
    const line = JSON.parse(emfLine('job-state', { LagRevisions: 3, LagSeconds: 0.5, DeadLettered: 1 }));
    expect(line._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'EtcdBridge',
      Dimensions: [['Route']],
    });
    expect(line).toMatchObject({ Route: 'job-state', LagRevisions: 3, LagSeconds: 0.5, DeadLettered: 1 });
  });
});
