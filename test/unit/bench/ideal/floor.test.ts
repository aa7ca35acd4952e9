/**
 * The floor client against a real etcd, in both forms: it writes the stages' outputs byte for byte,
 * each key's last revision last; fused, job_state and state land in one transaction (one revision).
 * Not timed.
 */
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdealClient } from '../../../../bench/ideal/client.js';
import { FloorClient } from '../../../../bench/ideal/floor.js';
import { IdealOutputs } from '../../../../bench/ideal/outputs.js';
import { makeWorkload, writeConfigs, writeInputs } from '../../../../bench/workload.js';
import { headRevision } from '../../../../bridge/etcd/head.js';
import type { Mutation } from '../../../../shared/index.js';
import { startEtcd, stopEtcd } from '../../../helpers/etcd.js';
import { waitFor } from '../../../helpers/wait.js';

let client: Etcd3;

beforeAll(async () => {
  ({ client } = await startEtcd());
});

afterAll(() => stopEtcd());

function put(mutations: readonly Mutation[] | undefined): { key: string; value: string } {
  const found = mutations?.find((m) => m.op === 'put');
  if (found?.op !== 'put') throw new Error('expected a put');
  return found;
}

describe.each([
  ['plain', false],
  ['fused', true],
])('FloorClient (%s)', (tag, fused) => {
  it("writes each key's last outputs byte for byte", async () => {
    const spec = { tag: `floor${tag}`, keys: 8, firstSeq: 1, events: 40 };
    const workload = makeWorkload(spec.tag, spec.keys, spec.firstSeq);
    const outputs = new IdealOutputs();
    outputs.add(spec, IdealClient.jobStateReads());
    const floor = FloorClient.start(client, outputs, (await headRevision(client)) + 1n, fused);
    try {
      await writeConfigs(client, workload);
      await writeInputs(client, workload, 0, spec.events, { parallel: 8 });
      // Two outputs an event: the plain floor counts each put, the fused one each transaction.
      const expectedWrites = fused ? spec.events : 2 * spec.events;
      await waitFor(
        `${expectedWrites} writes`,
        () => {
          floor.check();
          return floor.writes >= expectedWrites;
        },
        30_000,
      );
      expect(floor.writes).toBe(expectedWrites);

      const expected = new IdealOutputs();
      expected.add(spec, IdealClient.jobStateReads());
      for (let i = 0; i < spec.events; i++) {
        const jobState = put(expected.takeHeatStack(workload.record(i).key));
        const state = put(expected.takeJobState(jobState.key, 1n));
        if (i < spec.events - spec.keys) continue;
        const [jobStateKv] = (await client.get(jobState.key).exec()).kvs;
        const [stateKv] = (await client.get(state.key).exec()).kvs;
        expect(jobStateKv?.value.toString()).toBe(jobState.value);
        expect(stateKv?.value.toString()).toBe(state.value);
        if (fused) expect(stateKv?.mod_revision).toBe(jobStateKv?.mod_revision);
        else
          expect(BigInt(stateKv?.mod_revision ?? 0)).toBeGreaterThan(BigInt(jobStateKv?.mod_revision ?? 0));
      }
    } finally {
      floor.stop();
    }
  });
});
