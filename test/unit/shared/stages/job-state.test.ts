import { describe, expect, it } from 'vitest';
import {
  jobStateTransform,
  RecordValidationError,
  RejectedStatusError,
  type StageRecord,
} from '../../../../shared/index.js';
import {
  CONFIG_KEY,
  HEAT_KEY,
  heatStackText,
  JOB_KEY,
  jobStateText,
  STATE_KEY,
  stageRecord,
  stateText,
} from '../../../helpers/records.js';

/** The state record job-state writes for a job_state record, parsed back for its fields. */
function stateFor(status: string, reads: StageRecord['reads'] = {}) {
  const mutations = jobStateTransform(stageRecord({ key: JOB_KEY, value: jobStateText(status), reads }));
  const put = mutations[0];
  if (put?.op !== 'put') throw new Error('expected a put of the state record');
  expect(put.key).toBe(STATE_KEY);
  return {
    text: put.value,
    record: JSON.parse(put.value) as { state: Record<string, string>; version: unknown; error: unknown },
  };
}

const heatStackRead = (reason: string) => ({ [HEAT_KEY]: heatStackText({ status_reason: reason }) });

describe('worker_state table', () => {
  it.each([
    ['CREATE_COMPLETE', 'CREATE_COMPLETED'],
    ['UPDATE_COMPLETE', 'MODIFY_COMPLETED'],
    ['DELETE_COMPLETE', 'DELETE_COMPLETED'],
    ['CREATE_IN_PROGRESS', 'CREATE_IN_PROGRESS'],
    ['UPDATE_IN_PROGRESS', 'MODIFY_IN_PROGRESS'],
    ['DELETE_IN_PROGRESS', 'DELETE_IN_PROGRESS'],
  ])('%s → %s with an empty error', (status, workerState) => {
    const { record } = stateFor(status, heatStackRead('ignored reason'));
    expect(record.state.worker_state).toBe(workerState);
    expect(record.state.orchestration_state).toBe(status);
    expect(record.error).toBe('');
  });

  it.each([
    ['CREATE_FAILED', 'CREATE_FAILED'],
    ['UPDATE_FAILED', 'MODIFY_FAILED'],
    ['DELETE_FAILED', 'DELETE_FAILED'],
  ])('%s → %s with the heat stack status_reason as error', (status, workerState) => {
    const { record } = stateFor(status, heatStackRead('Resource CREATE failed: quota exceeded'));
    expect(record.state.worker_state).toBe(workerState);
    expect(record.error).toBe('Resource CREATE failed: quota exceeded');
  });

  it.each([
    ['ROLLBACK_COMPLETE', 'CREATE_COMPLETED', 'MODIFY_FAILED', true],
    ['ROLLBACK_COMPLETE', 'MODIFY_IN_PROGRESS', 'MODIFY_FAILED', true],
    ['ROLLBACK_COMPLETE', 'DELETE_COMPLETED', 'CREATE_FAILED', true],
    ['ROLLBACK_COMPLETE', undefined, 'CREATE_FAILED', true],
    ['ROLLBACK_FAILED', 'MODIFY_COMPLETED', 'MODIFY_FAILED', true],
    ['ROLLBACK_FAILED', undefined, 'CREATE_FAILED', true],
    ['ROLLBACK_IN_PROGRESS', 'CREATE_IN_PROGRESS', 'MODIFY_IN_PROGRESS', false],
    ['ROLLBACK_IN_PROGRESS', 'DELETE_FAILED', 'CREATE_IN_PROGRESS', false],
    ['ROLLBACK_IN_PROGRESS', undefined, 'CREATE_IN_PROGRESS', false],
  ])('%s after previous worker_state %s → %s', (status, previous, workerState, failed) => {
    const reads = {
      ...heatStackRead('Rollback reason'),
      ...(previous ? { [STATE_KEY]: stateText(previous, '3') } : {}),
    };
    const { record } = stateFor(status, reads);
    expect(record.state.worker_state).toBe(workerState);
    expect(record.error).toBe(failed ? 'Rollback reason' : '');
  });

  it.each([
    'SUSPEND_COMPLETE',
    'RESUME_COMPLETE',
    'CHECK_COMPLETE',
    'SNAPSHOT_FAILED',
    'ADOPT_IN_PROGRESS',
    'BOGUS',
    '',
  ])('rejects %j: nothing is written', (status) => {
    expect(() => jobStateTransform(stageRecord({ key: JOB_KEY, value: jobStateText(status) }))).toThrow(
      RejectedStatusError,
    );
  });

  it('reads the previous state record only for the rules that need it, and only their fields', () => {
    // Version from the config and a status without the rollback rule: the previous state is not
    // needed, so a malformed one (which would block every later job of the resource) is not read.
    for (const previous of ['{"state": {}, "version": null}', '{"state": {"heat_outputs": []}}', 'garbage']) {
      const { record } = stateFor('UPDATE_COMPLETE', {
        [CONFIG_KEY]: '{"version": 3}',
        [STATE_KEY]: previous,
      });
      expect(record).toMatchObject({ state: { worker_state: 'MODIFY_COMPLETED' }, version: 3 });
    }
    // The rollback rule reads worker_state only: a version of any type does not matter to it.
    expect(
      stateFor('ROLLBACK_IN_PROGRESS', {
        [CONFIG_KEY]: '{"version": 3}',
        [STATE_KEY]: '{"state": {"worker_state": "MODIFY_COMPLETED"}, "version": "x"}',
      }).record.state.worker_state,
    ).toBe('MODIFY_IN_PROGRESS');
    // A field a rule does read must be well formed: the error names the state key and the field.
    expect(() => stateFor('ROLLBACK_IN_PROGRESS', { [STATE_KEY]: '{"state": {"worker_state": 7}}' })).toThrow(
      new RegExp(`^${STATE_KEY.replaceAll('.', '\\.')}: state\\.worker_state: `),
    );
    expect(() => stateFor('UPDATE_COMPLETE', { [STATE_KEY]: '{"version": null}' })).toThrow(
      new RegExp(`^${STATE_KEY.replaceAll('.', '\\.')}: version: `),
    );
  });

  it('a "__proto__" key in the previous state is a key like any other', () => {
    const previous = '{"__proto__": {"state": {"worker_state": "MODIFY_COMPLETED"}}, "version": 2}';
    expect(stateFor('ROLLBACK_IN_PROGRESS', { [STATE_KEY]: previous }).record.state.worker_state).toBe(
      'CREATE_IN_PROGRESS',
    );
  });

  it('a failed stack whose heat stack record is gone has an empty error', () => {
    expect(stateFor('CREATE_FAILED').record.error).toBe('');
  });

  it('copies a non-string status_reason as it is', () => {
    const reads = { [HEAT_KEY]: heatStackText({ status_reason: null }) };
    expect(stateFor('CREATE_FAILED', reads).record.error).toBeNull();
  });
});

describe('version rule', () => {
  const config = (version: string) => `{"body": {}, "version": ${version}}`;

  it('takes the config record version first', () => {
    const { text } = stateFor('CREATE_COMPLETE', {
      [CONFIG_KEY]: config('7'),
      [STATE_KEY]: stateText('CREATE_COMPLETED', '3'),
    });
    expect(text).toContain('"version": 7, \n');
  });

  it('then the previous state record version', () => {
    const { text } = stateFor('UPDATE_COMPLETE', {
      [CONFIG_KEY]: null,
      [STATE_KEY]: stateText('CREATE_COMPLETED', '3'),
    });
    expect(text).toContain('"version": 3, \n');
  });

  it('then 1', () => {
    expect(stateFor('CREATE_COMPLETE', {}).text).toContain('"version": 1, \n');
  });

  it('keeps the number exactly as CPython prints it (beyond 2^53, floats)', () => {
    expect(stateFor('CREATE_COMPLETE', { [CONFIG_KEY]: config('123456789012345678901') }).text).toContain(
      '"version": 123456789012345678901, \n',
    );
    expect(stateFor('CREATE_COMPLETE', { [CONFIG_KEY]: config('2E0') }).text).toContain('"version": 2.0, \n');
  });

  it('a config record without version falls back to the previous state', () => {
    const { text } = stateFor('CREATE_COMPLETE', {
      [CONFIG_KEY]: '{"body": {}}',
      [STATE_KEY]: stateText('CREATE_COMPLETED', '5'),
    });
    expect(text).toContain('"version": 5, \n');
  });

  it('a config version that is not a number is an error naming the config key and field', () => {
    expect(() => stateFor('CREATE_COMPLETE', { [CONFIG_KEY]: config('"2"') })).toThrow(
      new RegExp(`^${CONFIG_KEY.replaceAll('.', '\\.')}: version: `),
    );
  });
});

describe('job_state records', () => {
  it("ignores the job runner's {} placeholder", () => {
    expect(jobStateTransform(stageRecord({ key: JOB_KEY, value: '{}' }))).toEqual([]);
    expect(jobStateTransform(stageRecord({ key: JOB_KEY, value: '{ }\n' }))).toEqual([]);
  });

  it('ignores deletes (its own delete of the job_state key comes back as an event)', () => {
    expect(jobStateTransform(stageRecord({ key: JOB_KEY, type: 'delete', value: null }))).toEqual([]);
  });

  it('encodes heat_outputs as one-line JSON inside the state record', () => {
    const outputs =
      '[{"output_value": ["10.0.0.1", 2, 1.5, null, true], "output_key": "ips", "10": "\u00e9"}]';
    const { record } = stateFor('CREATE_COMPLETE', {});
    expect(record.state.heat_outputs).toBe('[]');
    const [put] = jobStateTransform(
      stageRecord({ key: JOB_KEY, value: jobStateText('CREATE_COMPLETE', outputs) }),
    );
    expect(put?.op === 'put' && JSON.parse(put.value).state.heat_outputs).toBe(
      '[{"output_value": ["10.0.0.1", 2, 1.5, null, true], "output_key": "ips", "10": "\\u00e9"}]',
    );
  });

  it.each([
    ['not JSON', '{"heat_outputs": [', /invalid JSON: .* at line 1 column 19 \(char 18\)/],
    ['not an object', '["heat_outputs"]', /expected a JSON object, got array/],
    [
      'heat_outputs not a list',
      '{"heat_outputs": {}, "orchestration_state": "CREATE_COMPLETE"}',
      /heat_outputs: /,
    ],
    [
      'orchestration_state not a string',
      '{"heat_outputs": [], "orchestration_state": 5}',
      /orchestration_state: /,
    ],
    ['orchestration_state missing', '{"heat_outputs": []}', /orchestration_state: /],
  ])('rejects a job_state record that is %s, naming the key and field', (_what, value, message) => {
    const run = () => jobStateTransform(stageRecord({ key: JOB_KEY, value }));
    expect(run).toThrow(RecordValidationError);
    expect(run).toThrow(message);
    expect(run).toThrow(JOB_KEY);
  });

  it('rejects a key outside the job_state grammar', () => {
    expect(() =>
      jobStateTransform(stageRecord({ key: '/esi-worker/job_state/v2.0/ports', value: '{}' })),
    ).toThrow(/is not a jobState key/);
  });
});
