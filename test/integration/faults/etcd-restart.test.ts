/**
 * Invariant 1 across etcd restarts: etcd is SIGKILLed and started again (same ports, same data)
 * twice while heat stack records stream in. The bridge, a child process with the production client
 * settings, must ride it out on its own (no restart of the bridge) and the history must show every
 * heat stack revision handled exactly once, in per-key order.
 */
import { ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import { isRecoverableError } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeProcess, killAllBridgeProcesses } from '../../helpers/bridge-process.js';
import { type EtcdFixture, history, startEtcd, stopEtcd } from '../../helpers/etcd.js';
import { checkPipeline, makeWorkload, sleep, waitForPipeline, writeRecords } from '../../helpers/workload.js';

const SEED = Number(process.env.FAULT_SEED ?? 7331);
const GROUP = 'etcd-restart';

describe('etcd killed and restarted mid-stream, twice', () => {
  let fixture: EtcdFixture;

  beforeAll(async () => {
    // The writer retries on its own; etcd3's default breaker would refuse it for 5 s after etcd is back.
    fixture = await startEtcd({
      client: {
        faultHandling: {
          host: () =>
            circuitBreaker(handleWhen(isRecoverableError), {
              halfOpenAfter: 100,
              breaker: new ConsecutiveBreaker(1_000),
            }),
        },
      },
    });
  });

  afterAll(async () => {
    await killAllBridgeProcesses();
    await stopEtcd(fixture);
  });

  it('the bridge recovers by itself; nothing lost, nothing duplicated, per-key order kept', async () => {
    // Prepare
    const { client, etcd } = fixture;
    const records = makeWorkload({ records: 4_000, keys: 200, seed: SEED });
    const bridge = BridgeProcess.spawn({
      etcd: etcd.clientUrl,
      group: GROUP,
      startPosition: 'earliest',
      config: { checkpointFlushMs: 100 },
    });
    await bridge.waitForLeader();

    // Act: two crashes of etcd, each down for a while, mid-stream.
    let written = 0;
    const writing = writeRecords(client, records, {
      perSecond: 300,
      onWritten: (n) => {
        written = n;
      },
    });
    const outages: Array<{ atRecord: number; downMs: number }> = [];
    for (const atRecord of [1_000, 2_600]) {
      while (written < atRecord) await sleep(10);
      await etcd.kill();
      const down = Date.now();
      await sleep(1_500);
      await etcd.restart();
      outages.push({ atRecord, downMs: Date.now() - down });
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
    expect(stopped.code, bridge.output()).toBe(0);
    // The bridge saw the outages (its watch broke and resumed), so this is not a vacuous pass.
    expect(bridge.messages.get('watch interrupted; resuming from own revision')).toBeGreaterThan(0);
    expect(outages).toHaveLength(2);
    // A put retried after etcd died may have committed twice: then it is two inputs, each handled once.
    expect(report.heatPuts).toBe(records.length + report.duplicateInputs);
    expect(report.duplicateInputs).toBeLessThanOrEqual(writes.retried);
    expect(report.jobStatePuts).toBe(report.heatPuts);
    expect(report.statePuts).toBe(report.heatPuts);
  }, 120_000);
});
