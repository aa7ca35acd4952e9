/**
 * A start that meets an etcd briefly unreachable waits for it instead of exiting 1: the bridge is
 * started while every connection to etcd is reset (a proxy cut), and must still be running, then
 * elected, once the network is back. It says what it waited for.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BridgeProcess, killAllBridgeProcesses } from '../../helpers/bridge-process.js';
import { startEtcd, stopEtcd } from '../../helpers/etcd.js';
import { TcpProxy } from '../../helpers/tcp-proxy.js';
import { sleep } from '../../helpers/workload.js';

afterAll(async () => {
  await killAllBridgeProcesses();
  await stopEtcd();
});

describe('start while etcd is unreachable', () => {
  it('waits (no exit 1), then campaigns and is elected when etcd answers', async () => {
    // Prepare
    const { etcd } = await startEtcd();
    const proxy = await TcpProxy.start(etcd.clientUrl);
    proxy.cut('reset');
    try {
      // Act
      const bridge = BridgeProcess.spawn({ etcd: proxy.url, group: 'start-waits' });
      await bridge.waitForLine(/etcd not reachable yet/, 20_000);
      await sleep(4_000);
      const exitedWhileCut = bridge.exit;
      proxy.restore();
      await bridge.waitForLeader(30_000);

      // Assess
      expect(exitedWhileCut, bridge.output()).toBeUndefined();
      expect(bridge.linesMatching(/bridge failed to start/)).toEqual([]);
      expect(await bridge.stop()).toEqual({ code: 0, signal: null });
    } finally {
      await proxy.close();
    }
  }, 90_000);
});
