import { describe, expect, it } from 'vitest';
import { heatStacksTransform, jobStateTransform } from '../../../../shared/index.js';
import { stageRecord } from '../../../helpers/records.js';
import { seed } from '../../../helpers/seed.js';

describe('the seed operation "Update Loadbalancer Interface"', () => {
  it('stage heat-stacks turns record (1) into record (2) byte for byte', () => {
    // Prepare
    const record = stageRecord({ key: seed.heatStack.key, value: seed.heatStack.value, modRevision: '7' });

    // Act
    const mutations = heatStacksTransform(record);

    // Assess
    expect(mutations).toEqual([{ op: 'put', key: seed.jobState.key, value: seed.jobState.value }]);
  });

  it('stage job-state turns record (2) into record (3) byte for byte and deletes the job_state key at its revision', () => {
    // Prepare
    const record = stageRecord({
      key: seed.jobState.key,
      value: seed.jobState.value,
      modRevision: '9007199254740993',
      reads: {
        [seed.config.key]: seed.config.value,
        [seed.state.key]: null,
        [seed.heatStack.key]: seed.heatStack.value,
      },
    });

    // Act
    const mutations = jobStateTransform(record);

    // Assess
    expect(mutations).toEqual([
      { op: 'put', key: seed.state.key, value: seed.state.value },
      { op: 'delete', key: seed.jobState.key, ifModRevision: '9007199254740993' },
    ]);
  });

  it('the two stages chained give the seed records from the heat stack alone', () => {
    const [jobStatePut] = heatStacksTransform(
      stageRecord({ key: seed.heatStack.key, value: seed.heatStack.value }),
    );
    if (jobStatePut?.op !== 'put') throw new Error('expected a put');
    const [statePut] = jobStateTransform(
      stageRecord({
        key: jobStatePut.key,
        value: jobStatePut.value,
        reads: { [seed.config.key]: seed.config.value, [seed.heatStack.key]: seed.heatStack.value },
      }),
    );
    expect(statePut).toEqual({ op: 'put', key: seed.state.key, value: seed.state.value });
  });
});
