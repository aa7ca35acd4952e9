import { describe, expect, it } from 'vitest';
import {
  decodeUtf8,
  heatStacksTransform,
  RecordValidationError,
  RejectedStatusError,
} from '../../../../shared/index.js';
import { HEAT_KEY, heatStackText, JOB_KEY, stageRecord } from '../../../helpers/records.js';
import { seed } from '../../../helpers/seed.js';

const run = (value: string | null) => heatStacksTransform(stageRecord({ key: HEAT_KEY, value }));

describe('stage heat-stacks', () => {
  it('writes {heat_outputs, orchestration_state} to the job_state key', () => {
    const [put] = run(heatStackText({ stack_status: 'CREATE_IN_PROGRESS', output: [] }));
    expect(put).toEqual({
      op: 'put',
      key: JOB_KEY,
      value: '{\n    "heat_outputs": [], \n    "orchestration_state": "CREATE_IN_PROGRESS"\n}',
    });
  });

  it('gives the same bytes whatever the input layout', () => {
    const compact = JSON.stringify(JSON.parse(seed.heatStack.value));
    const [fromCompact] = heatStacksTransform(stageRecord({ key: seed.heatStack.key, value: compact }));
    expect(fromCompact).toEqual({ op: 'put', key: seed.jobState.key, value: seed.jobState.value });
  });

  it('keeps key order, integer-like keys included, and escapes non-ASCII as CPython does', () => {
    const value =
      '{"stack_status": "UPDATE_COMPLETE", "output": [{"b": 1, "10": "caf\u00e9 \ud83d\ude00", "2": 1E+2, "a": -0.0}]}';
    const [put] = run(value);
    expect(put?.op === 'put' && put.value).toBe(
      '{\n    "heat_outputs": [\n        {\n            "b": 1, \n            "10": "caf\\u00e9 \\ud83d\\ude00", \n            "2": 100.0, \n            "a": -0.0\n        }\n    ], \n    "orchestration_state": "UPDATE_COMPLETE"\n}',
    );
  });

  it('ignores deletes of the heat stack record', () => {
    expect(heatStacksTransform(stageRecord({ key: HEAT_KEY, type: 'delete', value: null }))).toEqual([]);
  });

  it.each([
    ['not JSON', 'stack_status: CREATE_COMPLETE', /invalid JSON: Expecting value at line 1 column 1/],
    ['not an object', '"CREATE_COMPLETE"', /expected a JSON object, got string/],
    ['output not a list', heatStackText({ output: 'none' }), /output: .*expected array/],
    ['output missing', '{"stack_status": "CREATE_COMPLETE"}', /output: /],
    ['stack_status not a string', heatStackText({ stack_status: 3 }), /stack_status: .*expected string/],
    ['without a value', null, /value: the record has no value/],
  ])('rejects a record that is %s with an error naming the key and field', (_what, value, message) => {
    expect(() => run(value)).toThrow(RecordValidationError);
    expect(() => run(value)).toThrow(message);
    expect(() => run(value)).toThrow(HEAT_KEY);
  });

  it.each(['SUSPEND_COMPLETE', 'CHECK_COMPLETE', 'UNKNOWN'])(
    'rejects status %s: nothing is written',
    (status) => {
      expect(() => run(heatStackText({ stack_status: status }))).toThrow(RejectedStatusError);
    },
  );

  it('never refuses a record for a field it does not read (stack_id null, tenant_id a number, id null)', () => {
    const text =
      '{"stack_id": null, "tenant_id": 5, "id": null, "stack_status": "CREATE_FAILED", "output": []}';
    expect(run(text)).toHaveLength(1);
  });

  it('a "__proto__" key is a key like any other, not where the fields it holds come from', () => {
    const text = '{"__proto__": {"stack_status": "CREATE_COMPLETE", "output": []}}';
    expect(() => run(text)).toThrow(/stack_status: /);
  });

  it('a value that is not UTF-8 is rejected with the key', () => {
    expect(() => decodeUtf8(new Uint8Array([0x7b, 0xff, 0x7d]), HEAT_KEY)).toThrow(
      `${HEAT_KEY}: value: is not valid UTF-8`,
    );
    expect(decodeUtf8(new TextEncoder().encode('{"a": "é"}'), HEAT_KEY)).toBe('{"a": "é"}');
  });
});
