/**
 * The ideal client against a real etcd: it commits what the bridge would (state records, job_state
 * deleted once processed, markers at each key's last revision, checkpoints) and never fails a
 * compare. Not timed.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdealClient } from '../../../../bench/ideal/client.js';
import { IdealOutputs } from '../../../../bench/ideal/outputs.js';
import {
  JOB_STATE_ROOT,
  makeWorkload,
  STATE_ROOT,
  writeConfigs,
  writeInputs,
} from '../../../../bench/workload.js';
import { EmbeddedEtcd } from '../../../../bridge/etcd/embedded-etcd.js';
import { headRevision } from '../../../../bridge/etcd/head.js';
import { keyspaceFor, padRevision } from '../../../../bridge/keyspace.js';

let etcd: EmbeddedEtcd;
let client: Etcd3;

beforeAll(async () => {
  etcd = await EmbeddedEtcd.start();
  client = new Etcd3({ hosts: etcd.clientUrl });
});

afterAll(async () => {
  client?.close();
  await etcd?.stop();
});

async function until(condition: () => boolean, check: () => void): Promise<void> {
  for (let i = 0; i < 600 && !condition(); i++) {
    check();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  check();
  expect(condition()).toBe(true);
}

describe('IdealClient', () => {
  it("commits the pipeline's records with its bookkeeping, every key in order", async () => {
    const spec = { tag: 'idealunit', keys: 10, firstSeq: 1, events: 45 };
    const workload = makeWorkload(spec.tag, spec.keys, spec.firstSeq);
    const outputs = new IdealOutputs();
    outputs.add(spec, IdealClient.jobStateReads());
    const group = 'idealunit';
    const ideal = await IdealClient.start(client, outputs, {
      group,
      fromRevision: (await headRevision(client)) + 1n,
      transactionsInFlight: 2,
    });
    try {
      await writeConfigs(client, workload);
      await writeInputs(client, workload, 0, spec.events, { parallel: 8 });
      // Each event is one record of each route.
      await until(
        () => ideal.stats.records === 2 * spec.events,
        () => ideal.check(),
      );
      expect(ideal.stats.transactions).toBeGreaterThan(0);

      const states = await client.getAll().prefix(STATE_ROOT).strings();
      const mine = Object.keys(states).filter((key) => key.includes(`/${spec.tag}-`));
      expect(mine).toHaveLength(spec.keys);
      // Byte for byte what the stages answer for each key's last revision.
      const expected = new IdealOutputs();
      expected.add(spec, IdealClient.jobStateReads());
      for (let i = 0; i < spec.events; i++) {
        const [jobState] = expected.takeHeatStack(workload.record(i).key) ?? [];
        if (jobState?.op !== 'put') throw new Error('expected a job_state put');
        const state = expected.takeJobState(jobState.key, 1n)?.find((m) => m.op === 'put');
        if (state?.op !== 'put') throw new Error('expected a state put');
        if (i >= spec.events - spec.keys) expect(states[state.key]).toBe(state.value);
      }
      // Stage job-state deleted every job_state record it processed (nothing newer came after).
      const jobStates = await client.getAll().prefix(JOB_STATE_ROOT).keys();
      expect(jobStates.filter((key) => key.includes(`/${spec.tag}-`))).toEqual([]);

      // Each heat stack key's marker holds its last revision.
      const keyspace = keyspaceFor(group);
      for (let i = spec.events - spec.keys; i < spec.events; i++) {
        const input = workload.record(i);
        const kv = await client.get(input.key).exec();
        const revision = kv.kvs[0]!.mod_revision;
        expect(await client.get(keyspace.applied('heat-stacks', input.key)).string()).toBe(
          padRevision(revision),
        );
      }
      expect(await client.get(keyspace.checkpoint('heat-stacks')).string()).not.toBeNull();
      expect(await client.get(keyspace.checkpoint('job-state')).string()).not.toBeNull();
    } finally {
      await ideal.stop();
    }
  });
});
