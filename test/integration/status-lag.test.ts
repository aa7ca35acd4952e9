/**
 * Lag tells the truth (issue #11): a route's lag counts only revisions under its own prefix that it
 * has not processed. An idle bridge shows 0 however far the etcd head moves (its own checkpoints
 * and status writes, other applications' keys), and `status --json` gives the figure /metrics gives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/bridge.js';
import { freePort } from '../../bridge/etcd/embedded-etcd.js';
import { silentLogger } from '../../bridge/log.js';
import { type Observability, startObservability } from '../../bridge/observability/server.js';
import { startBridge } from '../helpers/bridge.js';
import { runCli } from '../helpers/cli.js';
import { currentRevision, type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { heatStackText } from '../helpers/records.js';
import { seed } from '../helpers/seed.js';
import { waitFor } from '../helpers/wait.js';

interface StatusJson {
  group: string;
  leader: string | null;
  headRevision: string;
  groupsInEtcd?: string[];
  routes: Array<{ route: string; checkpoint: string | null; lag: string | null; lagFrom: string | null }>;
}

const GROUP = 'lagtest';

function metricLag(metrics: string, route: string): string | undefined {
  return new RegExp(`^etcd_bridge_lag_revisions\\{route="${route}"\\} (\\d+)$`, 'm').exec(metrics)?.[1];
}

describe('status lag', () => {
  let fixture: EtcdFixture;
  let observability: Observability;
  let bridge: Bridge | undefined;

  beforeAll(async () => {
    fixture = await startEtcd();
    observability = await startObservability({ port: await freePort(), host: '127.0.0.1' }, silentLogger);
    bridge = await startBridge(fixture, { group: GROUP }, { invokeLatency: observability.invokeLatency });
    observability.attach(bridge);
  });

  afterAll(async () => {
    await bridge?.stop();
    await observability?.close();
    await stopEtcd(fixture);
  });

  const status = async (): Promise<StatusJson> => {
    const result = await runCli(['status', '--json', '--etcd', fixture.etcd.clientUrl, '--group', GROUP]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as StatusJson;
  };

  it('an idle bridge: lag 0 after 10 s, in status --json and /metrics alike, while the head moves', async () => {
    // Prepare: one operation through both stages, then writes elsewhere in the store
    await fixture.client.put(seed.heatStack.key).value(seed.heatStack.value);
    await waitFor(
      'the state record',
      async () => (await fixture.client.get(seed.state.key).string()) ?? undefined,
    );
    const headBefore = await currentRevision(fixture.client);
    for (let i = 0; i < 5; i++) await fixture.client.put(`/another-app/key-${i}`).value('x');
    await new Promise((resolve) => setTimeout(resolve, 10_000));

    // Act
    const report = await status();
    const metrics = await (await fetch(`${observability.url}/metrics`)).text();

    // Assess: the head moved (other keys, the bridge's status writes), the lag did not
    expect(BigInt(report.headRevision)).toBeGreaterThan(BigInt(headBefore) + 5n);
    expect(report.group).toBe(GROUP);
    expect(report.leader).toBe(bridge!.bridgeId);
    for (const name of ['heat-stacks', 'job-state']) {
      const route = report.routes.find((r) => r.route === name)!;
      expect(route).toMatchObject({ lag: '0', lagFrom: 'leader' });
      expect(metricLag(metrics, name)).toBe(route.lag);
    }
  });

  it('without a leader: the records waiting under a route prefix, and the groups found in etcd', async () => {
    // Prepare: the bridge stops (it resigns), then three heat stacks arrive
    await bridge!.stop();
    bridge = undefined;
    for (let i = 0; i < 3; i++) {
      await fixture.client.put(`/esi-worker/heat_stacks/v2.0/ports/waiting-${i}`).value(heatStackText({}));
    }
    await fixture.client.put('/_etcd-bridge/other-group/checkpoint/heat-stacks').value('1'.padStart(20, '0'));

    // Act
    const report = await status();
    const table = await runCli(['status', '--etcd', fixture.etcd.clientUrl, '--group', 'no-such-group']);

    // Assess: from the checkpoints in etcd, only what waits under each route's own prefix
    expect(report.leader).toBeNull();
    expect(report.routes.find((r) => r.route === 'heat-stacks')).toMatchObject({
      lag: '3',
      lagFrom: 'checkpoint',
    });
    expect(report.routes.find((r) => r.route === 'job-state')).toMatchObject({
      lag: '0',
      lagFrom: 'checkpoint',
    });
    expect(report.groupsInEtcd).toEqual(['lagtest', 'other-group']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/group no-such-group .*leader \(none\)/);
    expect(table.stdout).toMatch(/groups found in etcd: lagtest, other-group/);
  });
});
