/**
 * Stage `job-state`: a job_state record (2) becomes the state record (3), then the job_state key is
 * deleted if it is still the revision processed (a newer job may have begun meanwhile).
 *
 * Reads: the config record (version), the previous state record (version fallback, rollback
 * rule) and the heat stack record (`status_reason`, which job_state does not carry).
 */
import type { Mutation, StageRecord } from '../contract.js';
import { RejectedStatusError } from '../errors.js';
import { dumpsCompact, dumpsIndented } from '../json/encode.js';
import { PyNumber, PyObject, type PyValue } from '../json/value.js';
import { parseResourceKey, type ResourceRef, resourceKey } from '../keys.js';
import {
  ConfigVersionSchema,
  JobStateRecordSchema,
  PreviousVersionSchema,
  PreviousWorkerStateSchema,
  parseRecordObject,
  validateRecord,
} from '../records.js';
import { readsPreviousWorkerState, workerStateFor } from '../worker-state.js';
import type { Stage } from './stage.js';

const DEFAULT_VERSION = new PyNumber('1', false);

export function jobStateTransform(record: StageRecord): Mutation[] {
  // Our own delete of the job_state key comes back as an event: nothing to do.
  if (record.type === 'delete') return [];
  const ref = parseResourceKey('jobState', record.key);
  const jobState = parseRecordObject(record.key, record.value);
  // `{}` is the job runner's placeholder, written before the heat stack exists.
  if (!jobState.has('heat_outputs')) return [];
  const { orchestration_state: stackStatus } = validateRecord(record.key, JobStateRecordSchema, jobState);

  // The previous state record is parsed only if a rule reads it, and each rule checks only its field.
  let previousRead: { key: string; value: PyObject } | undefined | null = null;
  const previous = () => {
    if (previousRead === null) previousRead = readRecord(record, resourceKey('state', ref));
    return previousRead;
  };
  let previousWorkerState: string | undefined;
  if (readsPreviousWorkerState(stackStatus)) {
    const read = previous();
    previousWorkerState =
      read && validateRecord(read.key, PreviousWorkerStateSchema, read.value).state?.worker_state;
  }
  const outcome = workerStateFor(stackStatus, previousWorkerState);
  if (!outcome) throw new RejectedStatusError(record.key, stackStatus);

  const state = new PyObject([
    [
      'state',
      new PyObject([
        ['worker_state', outcome.workerState],
        ['heat_outputs', dumpsCompact(jobState.get('heat_outputs')!)],
        ['orchestration_state', jobState.get('orchestration_state')!],
      ]),
    ],
    ['version', versionFor(record, ref, previous)],
    ['error', outcome.failed ? statusReason(record, ref) : ''],
  ]);
  return [
    { op: 'put', key: resourceKey('state', ref), value: dumpsIndented(state) },
    { op: 'delete', key: record.key, ifModRevision: record.modRevision },
  ];
}

/** The config record's version; else the previous state record's; else 1. */
function versionFor(
  record: StageRecord,
  ref: ResourceRef,
  previous: () => { key: string; value: PyObject } | undefined,
): PyValue {
  const config = readRecord(record, resourceKey('config', ref));
  if (config) {
    validateRecord(config.key, ConfigVersionSchema, config.value);
    const version = config.value.get('version');
    if (version !== undefined) return version;
  }
  const previousState = previous();
  if (previousState) {
    validateRecord(previousState.key, PreviousVersionSchema, previousState.value);
    const version = previousState.value.get('version');
    if (version !== undefined) return version;
  }
  return DEFAULT_VERSION;
}

/** The heat stack's `status_reason`, copied as it is; `""` when the record or the field is absent. */
function statusReason(record: StageRecord, ref: ResourceRef): PyValue {
  const heatStack = readRecord(record, resourceKey('heatStack', ref));
  const reason = heatStack?.value.get('status_reason');
  return reason === undefined ? '' : reason;
}

/** A record the bridge read for this one, parsed; undefined when the key was absent. */
function readRecord(record: StageRecord, key: string): { key: string; value: PyObject } | undefined {
  const text = record.reads[key];
  if (text === undefined || text === null) return undefined;
  return { key, value: parseRecordObject(key, text) };
}

export const jobStateStage: Stage = { name: 'job-state', transform: jobStateTransform };
