/** Factories for stage records and the records they read. */
import type { StageRecord } from '../../shared/index.js';

export const REF = { api: 'v2.0', collection: 'ports', id: '7864794a-fe4f-4aac-91a7-61c103f11f58' };
export const HEAT_KEY = `/esi-worker/heat_stacks/${REF.api}/${REF.collection}/${REF.id}`;
export const JOB_KEY = `/esi-worker/job_state/${REF.api}/${REF.collection}/${REF.id}`;
export const STATE_KEY = `/state/${REF.api}/${REF.collection}/${REF.id}`;
export const CONFIG_KEY = `/config/${REF.api}/${REF.collection}/${REF.id}`;

export function stageRecord(overrides: Partial<StageRecord> & Pick<StageRecord, 'key'>): StageRecord {
  return { id: '1', type: 'put', value: null, modRevision: '42', reads: {}, ...overrides };
}

/** A heat stack record's text, in the Heat side's own indented layout. */
export function heatStackText(fields: {
  stack_status?: unknown;
  output?: unknown;
  status_reason?: unknown;
}): string {
  return JSON.stringify(
    {
      stack_id: `port_${REF.id}`,
      tenant_id: 'fe3a4a1a72c04479bb6c19c2c0ccba4c',
      stack_status: 'CREATE_COMPLETE',
      output: [{ output_value: '10.0.0.5', description: 'Fixed IP', output_key: 'fixed_ip' }],
      status_reason: 'Stack CREATE completed successfully',
      id: `port:${REF.id}`,
      ...fields,
    },
    null,
    4,
  );
}

/** A job_state record's text as stage heat-stacks writes it. */
export function jobStateText(orchestrationState: string, outputs = '[]'): string {
  return `{\n    "heat_outputs": ${outputs}, \n    "orchestration_state": "${orchestrationState}"\n}`;
}

export function stateText(workerState: string, version: string): string {
  return `{\n    "state": {\n        "worker_state": "${workerState}", \n        "heat_outputs": "[]", \n        "orchestration_state": "X"\n    }, \n    "version": ${version}, \n    "error": ""\n}`;
}
