/**
 * Hand-off (docs/design.md): stage heat-stacks' committed job_state puts go to stage job-state
 * straight from the commit. In a steady stream they are taken (the job_state key was deleted by
 * job-state and that delete delivered before the next put) unless the watch brought them first;
 * every record is still handled once in per-key order, and the checkpoint never passes what the
 * watch has delivered.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/bridge.js';
import { startBridge } from '../helpers/bridge.js';
import { type EtcdFixture, history, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { waitFor } from '../helpers/wait.js';
import {
  checkPipeline,
  heatStackValue,
  jobKey,
  makeWorkload,
  waitForPipeline,
  writeRecords,
} from '../helpers/workload.js';

describe('hand-off from stage heat-stacks to stage job-state', () => {
  let fixture: EtcdFixture;
  let bridge: Bridge | undefined;

  beforeAll(async () => {
    fixture = await startEtcd();
  });

  afterEach(async () => {
    await bridge?.stop();
    bridge = undefined;
  });

  afterAll(async () => {
    await stopEtcd(fixture);
  });

  it('takes the job_state puts of a steady stream; every record handled once, in per-key order', async () => {
    // Prepare
    const group = 'hand-off-on';
    bridge = await startBridge(fixture, { group });
    const records = makeWorkload({ records: 600, keys: 20, seed: 11, keyPrefix: 'on' });

    // Act: 200 records/s over 20 keys, so each key's delete is delivered before its next put.
    await writeRecords(fixture.client, records, { perSecond: 200 });
    const drained = await waitForPipeline(fixture.client, records, { timeoutMs: 30_000 });

    // Assess
    expect(drained).toMatchObject({ done: true });
    const report = checkPipeline(await history(fixture.client, '/', 30_000), { group });
    expect(report.problems).toEqual([]);
    expect(report.statePuts).toBe(report.heatPuts);
    const stats = bridge.route('job-state')!.stats;
    // Each key's first job_state is unknown to the route (declined); later ones follow a delivered delete.
    // Taken: the job_state puts whose key's last delete had come back through the watch. Declined:
    // a key's first (unknown to the route), and those whose watch event beat the commit's answer.
    expect(stats.handOffsTaken).toBeGreaterThan(0);
    const reasons = [...bridge.route('job-state')!.handOffDeclines.keys()];
    expect(reasons.filter((r) => !['delivered', 'unknown-key', 'would-overtake'].includes(r))).toEqual([]);
    expect(stats.handOffsTaken + stats.handOffsDeclined).toBe(report.jobStatePuts);
    expect(stats.received).toBe(report.jobStatePuts); // a record handed over is not received twice
    expect(bridge.route('heat-stacks')!.stats.handOffsTaken).toBe(0);
  }, 60_000);

  it('offers nothing with handOff off', async () => {
    // Prepare
    const group = 'hand-off-off';
    bridge = await startBridge(fixture, { group, handOff: false });
    const records = makeWorkload({ records: 200, keys: 10, seed: 12, keyPrefix: 'off' });

    // Act
    await writeRecords(fixture.client, records, { perSecond: 200 });
    const drained = await waitForPipeline(fixture.client, records, { timeoutMs: 30_000 });

    // Assess
    expect(drained).toMatchObject({ done: true });
    const stats = bridge.route('job-state')!.stats;
    expect(stats.handOffsTaken + stats.handOffsDeclined).toBe(0);
    expect(stats.received).toBeGreaterThanOrEqual(records.length);
  }, 60_000);

  it('a record handed over ahead of the watch never moves the checkpoint past what the watch delivered', async () => {
    // Prepare: a job_state placeholder the route has received (and ignored: no heat_outputs).
    const group = 'hand-off-checkpoint';
    bridge = await startBridge(fixture, { group });
    const worker = bridge.route('job-state')!;
    const key = jobKey('ports/ahead-1');
    const placed = await fixture.client.put(key).value('{}').exec();
    const placeholder = BigInt(placed.header.revision);
    await waitFor('the placeholder handled', () => worker.stats.noop >= 1 && worker.isIdle(), 10_000);
    const delivered = worker.handledThrough;
    expect(delivered).toBeGreaterThanOrEqual(placeholder);

    // Act: offer a put as if committed far ahead of anything the watch has delivered (the
    // revisions between would be other keys' records still on their way).
    const ahead = placeholder + 1_000n;
    const taken = worker.offer([
      {
        key,
        value: Buffer.from(
          JSON.stringify({ heat_outputs: [], orchestration_state: 'CREATE_COMPLETE' }, null, 4),
        ),
        revision: ahead,
        prevModRevision: placeholder,
      },
    ]);
    await waitFor(
      'the record handed over committed',
      () => worker.stats.committed >= 1 && worker.isIdle(),
      10_000,
    );
    await bridge.committer.idle();

    // Assess: the record was processed, but neither the status nor the checkpoint passed the watch.
    expect(taken).toBe(1);
    expect(worker.stats.handOffsTaken).toBe(1);
    expect(worker.handledThrough).toBeLessThan(ahead);
    const checkpoint = bridge.committer.lastCheckpoint('job-state');
    expect(checkpoint).toBeDefined();
    expect(checkpoint!).toBeLessThan(ahead);
    expect(checkpoint!).toBeLessThanOrEqual(worker.handledThrough);
    // A second offer of the same key that skips its newest revision is declined.
    expect(
      worker.offer([
        { key, value: Buffer.from(heatStackValue(1, 'x')), revision: ahead + 1n, prevModRevision: 7n },
      ]),
    ).toBe(0);
    expect(worker.handOffDeclines.get('would-overtake')).toBe(1);
  }, 30_000);
});
