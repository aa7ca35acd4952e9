import { describe, expect, it } from 'vitest';
import { IdealClient } from '../../../../bench/ideal/client.js';
import { IdealOutputs } from '../../../../bench/ideal/outputs.js';
import { configValue, makeWorkload } from '../../../../bench/workload.js';
import { heatStacksTransform, jobStateTransform } from '../../../../shared/index.js';

const spec = { tag: 'unit', keys: 3, firstSeq: 1, events: 7 };

describe('IdealOutputs', () => {
  it("hands out the stages' own answers, in each key's revision order", () => {
    const outputs = new IdealOutputs();
    outputs.add(spec, IdealClient.jobStateReads());
    const workload = makeWorkload(spec.tag, spec.keys, spec.firstSeq);
    // Key 0 gets records 0, 3 and 6.
    for (const i of [0, 3, 6]) {
      const input = workload.record(i);
      const expected = heatStacksTransform({
        id: '0',
        type: 'put',
        key: input.key,
        value: input.value,
        modRevision: '1',
        reads: {},
      });
      expect(outputs.takeHeatStack(input.key)).toEqual(expected);
    }
    expect(outputs.takeHeatStack(workload.record(0).key)).toBeUndefined();
  });

  it('answers job_state with the state the stage writes and a delete at the revision seen', () => {
    const outputs = new IdealOutputs();
    outputs.add(spec, IdealClient.jobStateReads());
    const workload = makeWorkload(spec.tag, spec.keys, spec.firstSeq);
    const input = workload.record(1);
    const [jobState] = outputs.takeHeatStack(input.key) ?? [];
    if (jobState?.op !== 'put') throw new Error('expected a job_state put');
    const reads = IdealClient.jobStateReads()(jobState.key);
    expect(reads).toContain(input.key);
    const expected = jobStateTransform({
      id: '0',
      type: 'put',
      key: jobState.key,
      value: jobState.value,
      modRevision: '4242',
      reads: Object.fromEntries(
        reads.map((k) => [
          k,
          k === input.key ? input.value : k.startsWith('/config/') ? configValue(2) : null,
        ]),
      ),
    });
    const answer = outputs.takeJobState(jobState.key, 4242n);
    expect(answer).toEqual(expected);
    expect(answer).toContainEqual({ op: 'delete', key: jobState.key, ifModRevision: '4242' });
    expect(answer?.some((m) => m.op === 'put' && m.key.startsWith('/state/'))).toBe(true);
  });

  it('knows nothing of a key it was not prepared for', () => {
    const outputs = new IdealOutputs();
    expect(outputs.takeHeatStack('/esi-worker/heat_stacks/v2.0/ports/nope')).toBeUndefined();
    expect(outputs.takeJobState('/esi-worker/job_state/v2.0/ports/nope', 1n)).toBeUndefined();
  });
});
