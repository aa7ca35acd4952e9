/**
 * Invariant 1 across network cuts: the bridge (a child process, production client settings) reaches
 * etcd only through a TCP proxy, which is cut mid-stream twice: 'reset' (connections die at once, new
 * ones are refused) and 'blackhole' (bytes stop flowing, nobody is told, like a partition), each for
 * a few seconds, then restored. Records keep arriving in etcd meanwhile. Afterwards the history must
 * hold exactly one output per input revision, in per-key order, and the bridge must still lead.
 *
 * The lease TTL is raised to 15 s so that a 7 s blackhole stays a network fault the bridge rides out;
 * a partition longer than the lease is a leadership loss, which the failover test covers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeProcess, killAllBridgeProcesses } from '../../helpers/bridge-process.js';
import { type EtcdFixture, history, startEtcd, stopEtcd } from '../../helpers/etcd.js';
import { TcpProxy } from '../../helpers/tcp-proxy.js';
import { checkPipeline, makeWorkload, sleep, waitForPipeline, writeRecords } from '../../helpers/workload.js';

const SEED = Number(process.env.FAULT_SEED ?? 2718);
const GROUP = 'network-cut';

describe('network between bridge and etcd cut mid-stream', () => {
  let fixture: EtcdFixture;
  let proxy: TcpProxy;

  beforeAll(async () => {
    fixture = await startEtcd();
    proxy = await TcpProxy.start(fixture.etcd.clientUrl);
  });

  afterAll(async () => {
    await killAllBridgeProcesses();
    await proxy?.close();
    await stopEtcd(fixture);
  });

  it('reset and blackhole cuts: nothing lost, nothing duplicated, per-key order kept', async () => {
    // Prepare
    const { client } = fixture;
    const records = makeWorkload({ records: 4_500, keys: 200, seed: SEED });
    const bridge = BridgeProcess.spawn({
      etcd: proxy.url,
      group: GROUP,
      startPosition: 'earliest',
      config: { leaseTtlSeconds: 15, checkpointFlushMs: 100 },
    });
    await bridge.waitForLeader();

    // Act
    let written = 0;
    const writing = writeRecords(client, records, {
      perSecond: 250,
      onWritten: (n) => {
        written = n;
      },
    });
    const cuts: Array<{ mode: 'reset' | 'blackhole'; atRecord: number; forMs: number }> = [
      { mode: 'reset', atRecord: 500, forMs: 3_000 },
      { mode: 'blackhole', atRecord: 1_800, forMs: 7_000 },
    ];
    for (const cut of cuts) {
      while (written < cut.atRecord) await sleep(10);
      proxy.cut(cut.mode);
      await sleep(cut.forMs);
      proxy.restore();
    }
    const writes = await writing;
    const drained = await waitForPipeline(client, records, { timeoutMs: 40_000 });
    const output = bridge.output();
    const exitedEarly = bridge.exit;
    const stopped = await bridge.stop();

    // Assess
    const report = checkPipeline(await history(client, '/', 30_000), { group: GROUP });
    expect(report.problems).toEqual([]);
    expect(exitedEarly, output).toBeUndefined();
    expect(drained, output).toMatchObject({ done: true });
    expect(stopped, bridge.output()).toEqual({ code: 0, signal: null });
    // The cuts reached the bridge: its watches broke and resumed from their own revision.
    expect(bridge.messages.get('watch interrupted; resuming from own revision')).toBeGreaterThan(0);
    expect(writes.retried).toBe(0);
    expect(report.heatPuts).toBe(records.length);
    expect(report.jobStatePuts).toBe(records.length);
    expect(report.statePuts).toBe(records.length);
  }, 120_000);
});
