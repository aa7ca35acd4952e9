/**
 * A route whose prefix is quiet while the rest of etcd is written (the bridge's own status and
 * checkpoints, other applications) keeps its revision at its last event. Once etcd compacts past
 * it, any watch reconnect (a network blip, a member failover) or restart finds its revision
 * compacted and resyncs the whole prefix, although nothing under it changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../../bridge/bridge.js';
import { startBridge } from '../../helpers/bridge.js';
import { currentRevision, type EtcdFixture, startEtcd, stopEtcd } from '../../helpers/etcd.js';
import { TcpProxy } from '../../helpers/tcp-proxy.js';
import { waitFor } from '../../helpers/wait.js';

let fixture: EtcdFixture;
let proxy: TcpProxy;
let bridge: Bridge | undefined;

beforeAll(async () => {
  // etcd's periodic progress notification, every 10 min by default, made frequent for the test.
  fixture = await startEtcd({ extraArgs: ['--experimental-watch-progress-notify-interval=200ms'] });
  proxy = await TcpProxy.start(fixture.etcd.clientUrl);
});

afterAll(async () => {
  await bridge?.stop({ drainTimeoutMs: 1_000 });
  await proxy?.close();
  await stopEtcd();
});

describe('a quiet route in a busy etcd', () => {
  it('does not resync after a reconnect once etcd has compacted past its last event', async () => {
    const config = { etcd: { endpoints: [proxy.url] }, group: 'quiet' };
    bridge = await startBridge(fixture, config);
    const b = bridge;
    await waitFor('watching', () => b.status().every((r) => r.watch === 'watching'));

    // Other writers keep etcd busy; nothing under the routes' prefixes changes.
    for (let i = 0; i < 50; i++) await fixture.client.put(`/other-app/${i}`).value('x');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const head = await currentRevision(fixture.client);
    await fixture.client.kv.compact({ revision: String(head), physical: true });

    // A network blip: every watch reconnects.
    proxy.cut('reset');
    await new Promise((resolve) => setTimeout(resolve, 300));
    proxy.restore();
    await waitFor('reconnected', () =>
      b.status().every((r) => r.watch === 'watching' && r.watchReconnects > 0),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(b.status().map((r) => [r.route, r.stats.resyncs])).toEqual([
      ['heat-stacks', 0],
      ['job-state', 0],
    ]);

    // And a restart resumes from a checkpoint etcd still has.
    await b.stop();
    bridge = await startBridge(fixture, config);
    const again = bridge;
    await waitFor('watching again', () => again.status().every((r) => r.watch === 'watching'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(again.status().map((r) => [r.route, r.stats.resyncs])).toEqual([
      ['heat-stacks', 0],
      ['job-state', 0],
    ]);
  }, 60_000);
});
