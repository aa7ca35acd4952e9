/**
 * Invariant 5: the bridge is down while records are written, and etcd's history is compacted past
 * its checkpoint. Started again, it cannot resume its watch, so it resyncs: reads the prefix as it is
 * and delivers each key's latest revision. Every key's latest state must be produced, and nothing
 * applied twice: a key whose applied marker already covers its latest revision writes nothing new.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../../bridge/bridge.js';
import { keyspaceFor, unpadRevision } from '../../../bridge/keyspace.js';
import { startBridge } from '../../helpers/bridge.js';
import { currentRevision, type EtcdFixture, history, startEtcd, stopEtcd } from '../../helpers/etcd.js';
import {
  checkPipeline,
  heatKey,
  historyFrom,
  jobKey,
  lastByRef,
  makeRefs,
  makeWorkload,
  stateKey,
  waitForPipeline,
  writeRecords,
} from '../../helpers/workload.js';

const SEED = Number(process.env.FAULT_SEED ?? 9001);
const GROUP = 'compaction';

describe('history compacted past the checkpoint while the bridge was down', () => {
  let fixture: EtcdFixture;
  let bridge: Bridge | undefined;

  beforeAll(async () => {
    fixture = await startEtcd();
  });

  afterAll(async () => {
    await bridge?.stop();
    await stopEtcd(fixture);
  });

  it('resyncs: every key gets its latest state, and nothing is applied twice', async () => {
    // Prepare: 60 keys handled by a running bridge, which is then stopped.
    const { client } = fixture;
    const refsA = makeRefs(60, SEED, 'a');
    const first = makeWorkload({ records: 240, keys: 60, seed: SEED, refs: refsA });
    bridge = await startBridge(fixture, { group: GROUP });
    await writeRecords(client, first);
    expect(await waitForPipeline(client, first, { timeoutMs: 20_000 })).toMatchObject({ done: true });
    await bridge.stop();
    bridge = undefined;
    const downFrom = (await currentRevision(client)) + 1;
    const checkpoint = BigInt(
      unpadRevision((await client.get(keyspaceFor(GROUP).checkpoint('heat-stacks')).string()) ?? '0'),
    );

    // While it is down: half of those keys get new revisions, 40 new keys appear, the other half of
    // the old keys stays as the bridge left it; then the history is compacted.
    const touched = refsA.slice(0, 30);
    const untouched = refsA.slice(30);
    const updates = makeWorkload({ records: 90, keys: 30, seed: SEED + 1, refs: touched, firstSeq: 1_001 });
    const fresh = makeWorkload({ records: 160, keys: 40, seed: SEED + 2, keyPrefix: 'b', firstSeq: 2_001 });
    await writeRecords(client, [...updates, ...fresh]);
    const before = await history(client, '/');
    const compactedAt = await currentRevision(client);
    await client.kv.compact({ revision: String(compactedAt), physical: true });
    expect(checkpoint + 1n).toBeLessThan(BigInt(compactedAt));

    // Act
    bridge = await startBridge(fixture, { group: GROUP });
    const all = [...first, ...updates, ...fresh];
    const drained = await waitForPipeline(client, all, { timeoutMs: 20_000 });
    const heatStacks = bridge.route('heat-stacks')!.stats;
    await bridge.stop();
    bridge = undefined;

    // Assess
    const after = await historyFrom(client, compactedAt + 1);
    const latest = lastByRef([...updates, ...fresh]);
    const latestRevision = new Map<string, number>();
    for (const event of before) {
      if (event.type === 'put' && event.key.startsWith('/esi-worker/heat_stacks/'))
        latestRevision.set(event.key, event.modRevision);
    }
    // What the compaction took (a key's older revisions written while the bridge was down) is gone
    // for good; everything else must be handled exactly once.
    const report = checkPipeline([...before, ...after], {
      group: GROUP,
      mayBeSkipped: (revision, ref) => revision >= downFrom && revision !== latestRevision.get(heatKey(ref)),
    });
    expect(report.problems).toEqual([]);
    expect(drained).toMatchObject({ done: true });
    expect(heatStacks.resyncs).toBeGreaterThanOrEqual(1);
    // Each key written while down: exactly one job_state and one state, from its latest revision.
    for (const [ref, record] of latest) {
      const jobs = after.filter((e) => e.type === 'put' && e.key === jobKey(ref));
      const states = after.filter((e) => e.type === 'put' && e.key === stateKey(ref));
      expect(
        jobs.map((e) => JSON.parse(e.value).heat_outputs[0].output_value),
        ref,
      ).toEqual([record.seq]);
      expect(states, ref).toHaveLength(1);
    }
    // Keys whose marker already covered their latest revision: resynced, skipped, nothing written.
    const untouchedKeys = new Set(untouched.flatMap((ref) => [jobKey(ref), stateKey(ref)]));
    const untouchedMarkers = new Set(
      untouched.map((ref) => keyspaceFor(GROUP).applied('heat-stacks', heatKey(ref))),
    );
    expect(after.filter((e) => untouchedKeys.has(e.key) || untouchedMarkers.has(e.key))).toEqual([]);
    expect(heatStacks.skipped).toBeGreaterThanOrEqual(untouched.length);
    expect(heatStacks.committed).toBe(latest.size);
  });
});
