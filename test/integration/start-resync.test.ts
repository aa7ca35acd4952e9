/**
 * A new route whose start position is `resync` (DESIGN invariant 5's read of the whole prefix, as a
 * start): every key that exists when it starts is delivered as a put, and a crash before the resync
 * has been committed makes the next start read the prefix again. It must not record a checkpoint at
 * the head before its records are committed: the next start would resume after it and never deliver
 * the keys the crash cut off.
 *
 * Also the stream underneath: a watch stopped while its stream is still opening (a resync right
 * after a start, a shutdown during a reconnect) ends quietly, where grpc-js's CANCELLED for the
 * closed stream used to be thrown as uncaught and end the process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdClient } from '../../bridge/etcd/client.js';
import { keyspaceFor } from '../../bridge/keyspace.js';
import { PrefixWatch } from '../../bridge/source/prefix-watch.js';
import { BridgeProcess, killAllBridgeProcesses, revokeDeadLeaders } from '../helpers/bridge-process.js';
import { type EtcdFixture, history, startEtcd, stopEtcd } from '../helpers/etcd.js';
import {
  checkPipeline,
  makeWorkload,
  sleep,
  stateKey,
  waitForPipeline,
  writeBatched,
} from '../helpers/workload.js';

const GROUP = 'start-resync';
const KEYS = 3_000;

describe('start position resync', () => {
  let fixture: EtcdFixture;

  beforeAll(async () => {
    fixture = await startEtcd();
  });

  afterAll(async () => {
    await killAllBridgeProcesses();
    await stopEtcd(fixture);
  });

  it('a watch stopped while its stream is still opening ends without an uncaught error', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    const client = createEtcdClient({ endpoints: [fixture.etcd.clientUrl], callTimeoutMs: 5_000 });
    try {
      for (let i = 0; i < 10; i++) {
        const watch = new PrefixWatch(client, '/esi-worker/heat_stacks/', {
          onEvents: () => {},
          onCompacted: () => {},
        });
        watch.start(1n);
        watch.stop(); // before the stream has opened
      }
      await sleep(500);
    } finally {
      client.close();
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught.map(String)).toEqual([]);
  });

  it('delivers every existing key once, and a crash mid-resync makes the restart read the prefix again', async () => {
    // Prepare: keys that exist before any bridge of the group ran, one revision each.
    const { client } = fixture;
    const records = makeWorkload({ records: KEYS, keys: KEYS, seed: 77 });
    await writeBatched(client, records);
    const spawn = (n: number) =>
      BridgeProcess.spawn({
        etcd: fixture.etcd.clientUrl,
        group: GROUP,
        startPosition: 'resync',
        // Few records in flight, so the resync takes long enough to be cut.
        config: { leaseTtlSeconds: 2, checkpointFlushMs: 100, maxInFlight: 64 },
        name: `bridge #${n}`,
      });

    // Act: kill the first bridge once part of the keys has its state; start another.
    const first = spawn(0);
    let exited = false;
    void first.exited.then(() => (exited = true));
    await first.waitForLeader();
    let statesAtKill = 0;
    // Bounded: a resync that makes no progress (more keys than fit in flight) fails below, by name.
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      statesAtKill = Number(await client.getAll().prefix(stateKey('')).count());
      if (statesAtKill >= 100 || exited) break;
      await sleep(5);
    }
    const status = await first.kill('SIGKILL');
    expect(status.signal, first.output()).toBe('SIGKILL');
    const checkpoint = await client.get(keyspaceFor(GROUP).checkpoint('heat-stacks')).string();
    await revokeDeadLeaders(client, GROUP);
    const second = spawn(1);
    await second.waitForLeader();
    const drained = await waitForPipeline(client, records, { timeoutMs: 30_000 });
    const output = second.output();
    const stopped = await second.stop();

    // Assess: the kill cut the resync; nothing was checkpointed past the keys it had not delivered;
    // the second bridge delivered the rest; no key's revision was applied twice.
    expect(statesAtKill, 'states written by the first bridge within 20 s').toBeGreaterThanOrEqual(100);
    expect(statesAtKill, 'the kill came after the resync had finished').toBeLessThan(KEYS);
    expect(drained, output).toMatchObject({ done: true });
    expect(checkpoint, 'a checkpoint before the resync was committed').toBeNull();
    expect(stopped.code, output).toBe(0);
    const report = checkPipeline(await history(client, '/', 30_000), { group: GROUP });
    expect(report.problems).toEqual([]);
    expect(report.jobStatePuts).toBe(KEYS);
    expect(report.statePuts).toBe(KEYS);
  }, 60_000);
});
