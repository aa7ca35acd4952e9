/**
 * Stage `heat-stacks`: a heat stack record (1) becomes the job_state record (2),
 * `{heat_outputs: output, orchestration_state: stack_status}` in Python 2's indented layout.
 */
import type { Mutation, StageRecord } from '../contract.js';
import { RejectedStatusError } from '../errors.js';
import { dumpsIndented } from '../json/encode.js';
import { PyObject } from '../json/value.js';
import { parseResourceKey, resourceKey } from '../keys.js';
import { HeatStackRecordSchema, parseRecordObject, validateRecord } from '../records.js';
import { isKnownStackStatus } from '../worker-state.js';
import type { Stage } from './stage.js';

export function heatStacksTransform(record: StageRecord): Mutation[] {
  // A deleted heat stack has nothing to report; the legacy worker wrote nothing for it either.
  if (record.type === 'delete') return [];
  const ref = parseResourceKey('heatStack', record.key);
  const stack = parseRecordObject(record.key, record.value);
  const { stack_status: stackStatus } = validateRecord(record.key, HeatStackRecordSchema, stack);
  // Reject here, so a status with no worker_state leaves the job_state record as it is.
  if (!isKnownStackStatus(stackStatus)) throw new RejectedStatusError(record.key, stackStatus);

  const jobState = new PyObject([
    ['heat_outputs', stack.get('output')!],
    ['orchestration_state', stack.get('stack_status')!],
  ]);
  return [{ op: 'put', key: resourceKey('jobState', ref), value: dumpsIndented(jobState) }];
}

export const heatStacksStage: Stage = { name: 'heat-stacks', transform: heatStacksTransform };
