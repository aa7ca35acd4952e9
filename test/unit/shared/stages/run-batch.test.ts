import { describe, expect, it } from 'vitest';
import { heatStacksStage, runStageBatch, type Stage, StageResponseSchema } from '../../../../shared/index.js';
import { HEAT_KEY, heatStackText, stageRecord } from '../../../helpers/records.js';

describe('runStageBatch', () => {
  it('gives every record a result or a failure: a bad record fails alone', () => {
    const response = runStageBatch(heatStacksStage, {
      route: 'heat-stacks',
      records: [
        stageRecord({ id: 'a', key: HEAT_KEY, value: heatStackText({}) }),
        stageRecord({ id: 'b', key: HEAT_KEY, value: '{not json' }),
        stageRecord({ id: 'c', key: HEAT_KEY, value: heatStackText({ stack_status: 'CHECK_COMPLETE' }) }),
        stageRecord({ id: 'd', key: HEAT_KEY, value: heatStackText({ stack_status: 'DELETE_COMPLETE' }) }),
      ],
    });
    expect(StageResponseSchema.parse(response)).toEqual(response);
    expect(response.results.map((r) => r.id)).toEqual(['a', 'd']);
    expect(response.batchItemFailures).toEqual([
      expect.objectContaining({ itemIdentifier: 'b', retryable: false, errorType: 'RecordValidationError' }),
      expect.objectContaining({ itemIdentifier: 'c', retryable: false, errorType: 'RejectedStatusError' }),
    ]);
    expect(response.batchItemFailures[0]?.error).toMatch(
      /invalid JSON: Expecting property name enclosed in double quotes/,
    );
  });

  it('reports an unexpected error as retryable', () => {
    const broken: Stage = {
      name: 'broken',
      transform: () => {
        throw new TypeError('boom');
      },
    };
    const response = runStageBatch(broken, { route: 'x', records: [stageRecord({ key: HEAT_KEY })] });
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: '1', retryable: true, error: 'boom', errorType: 'TypeError' },
    ]);
  });
});
