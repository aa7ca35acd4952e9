/**
 * Invariants 1-3 across crashes: the bridge, a child process, is SIGKILLed at 20+ random points
 * while heat stack records stream in, restarted each time, and finally left to drain. etcd's own
 * history must then hold exactly one job_state put per heat stack revision (and one state put per
 * job_state put), per key in revision order, and every key's final state its last revision's.
 *
 * FAULT_SEED=<n> replays a run (the kill delays and the workload both come from it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeProcess, killAllBridgeProcesses, revokeDeadLeaders } from '../../helpers/bridge-process.js';
import { currentRevision, type EtcdFixture, history, startEtcd, stopEtcd } from '../../helpers/etcd.js';
import {
  checkPipeline,
  makeWorkload,
  seededRandom,
  sleep,
  waitForPipeline,
  writeRecords,
} from '../../helpers/workload.js';

const SEED = Number(process.env.FAULT_SEED ?? 424242);
const GROUP = 'sigkill';
const KILLS = 22;
/**
 * Kills that must land while the pipeline was working (an input committed before the kill whose
 * state came after it). Records stream in for ~20 s and the kills come faster than that, so most
 * land mid-work; a kill of a bridge that was idle, or not yet leading, would test nothing.
 */
const MID_WORK_KILLS = 10;

describe('bridge SIGKILLed at random points while records stream in', () => {
  let fixture: EtcdFixture;

  beforeAll(async () => {
    fixture = await startEtcd();
  });

  afterAll(async () => {
    await killAllBridgeProcesses();
    await stopEtcd(fixture);
  });

  it(`loses nothing, duplicates nothing, keeps per-key order (seed ${SEED})`, async () => {
    // Prepare
    const { client } = fixture;
    const random = seededRandom(SEED);
    const records = makeWorkload({ records: 5_000, keys: 250, seed: SEED });
    const spawnBridge = (n: number) =>
      BridgeProcess.spawn({
        etcd: fixture.etcd.clientUrl,
        group: GROUP,
        startPosition: 'earliest',
        config: { leaseTtlSeconds: 2, checkpointFlushMs: 100 },
        name: `bridge #${n}`,
      });

    // Act: write at a steady pace while the bridge is killed and restarted again and again.
    const writing = writeRecords(client, records, { perSecond: 250, parallel: 8 });
    const kills: Array<{ afterMs: number; uptimeMs: number; revision: number }> = [];
    let bridge = spawnBridge(0);
    for (let i = 1; i <= KILLS; i++) {
      await bridge.waitForLeader();
      // Skewed towards early kills: right after election the bridge is busiest, catching up.
      const afterMs = Math.round(20 + random() ** 2 * 1_200);
      await sleep(afterMs);
      const revision = await currentRevision(client);
      const status = await bridge.kill('SIGKILL');
      // Killed by us; or, on a starved machine, it may have lost its 2 s lease first (exit 3): a crash too.
      expect(status.signal === 'SIGKILL' || status.code === 3, bridge.output()).toBe(true);
      kills.push({ afterMs, uptimeMs: Date.now() - bridge.startedAt, revision });
      if (i % 5 !== 0) await revokeDeadLeaders(client, GROUP);
      bridge = spawnBridge(i);
    }
    const written = await writing;
    await bridge.waitForLeader();
    const drained = await waitForPipeline(client, records, { timeoutMs: 30_000 });
    const output = bridge.output();
    const stopped = await bridge.stop();

    // Assess
    const report = checkPipeline(await history(client, '/', 30_000), { group: GROUP });
    expect(report.problems).toEqual([]);
    expect(drained, output).toMatchObject({ done: true });
    expect(stopped.code, bridge.output()).toBe(0);
    // Each kill counts only if it cut work in flight: an input before it whose state came after it.
    const midWork = kills.filter((kill) =>
      report.chains.some((c) => c.heatRevision <= kill.revision && c.stateRevision > kill.revision),
    );
    expect(midWork.length, JSON.stringify(kills)).toBeGreaterThanOrEqual(MID_WORK_KILLS);
    expect(written.retried).toBe(0);
    expect(report.heatPuts).toBe(records.length);
    expect(report.jobStatePuts).toBe(records.length);
    expect(report.statePuts).toBe(records.length);
    expect(report.refs).toBe(250);
  }, 120_000);
});
