/**
 * Hostile input for both stages, through `runStageBatch` as the functions run them: batches of
 * records whose keys, values and reads are arbitrary (random bytes decoded leniently, JSON texts,
 * JSON with one edit, objects shaped like the records with fields of random types). Every batch:
 *  - never throws, and the response is valid under the contract's schema;
 *  - every record ends in exactly one of results / batchItemFailures (no partial output);
 *  - a failure is terminal (a TransformError: anything else would be a crash of ours), with a
 *    non-empty message that names the record's key or the read key at fault;
 *  - a result's mutations validate against MutationSchema, go to the keys the stage may write, and
 *    their values are JSON the codec reads back and writes identically.
 * Then values at etcd's 1.5 MiB limit through both stages, and nesting 10k deep.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  dumpsCompact,
  dumpsIndented,
  heatStacksStage,
  jobStateStage,
  MutationSchema,
  type PyObject,
  parseJson,
  parseResourceKey,
  resourceKey,
  runStageBatch,
  type Stage,
  type StageRecord,
  type StageRequest,
  type StageResponse,
  StageResponseSchema,
} from '../../../../shared/index.js';
import {
  configShaped,
  heatStackShaped,
  jobStateShaped,
  recordKey,
  revision,
  runs,
  stateShaped,
  valueText,
} from '../../../helpers/arbitraries.js';

const HEAT_ROOT = '/esi-worker/heat_stacks/';
const JOB_ROOT = '/esi-worker/job_state/';
const ETCD_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
const TERMINAL_ERRORS = new Set(['RecordValidationError', 'RejectedStatusError', 'JsonLimitError']);

/** The keys job-state reads for a job_state key (as the default route's templates fill them). */
function readKeysFor(key: string): string[] | undefined {
  try {
    const ref = parseResourceKey('jobState', key);
    return [resourceKey('config', ref), resourceKey('state', ref), resourceKey('heatStack', ref)];
  } catch {
    return undefined;
  }
}

type RecordWithoutId = Omit<StageRecord, 'id'>;

const heatStackRecord: fc.Arbitrary<RecordWithoutId> = fc
  .tuple(
    recordKey(HEAT_ROOT),
    fc.constantFrom('put', 'put', 'put', 'put', 'delete') as fc.Arbitrary<'put' | 'delete'>,
    fc.option(valueText(heatStackShaped), { nil: null, freq: 12 }),
    revision,
  )
  .map(([key, type, value, modRevision]) => ({
    type,
    key,
    value: type === 'delete' ? null : value,
    modRevision,
    reads: {},
  }));

/** One read: absent from the map, null (the key does not exist), or any text. */
function readValue(shaped: fc.Arbitrary<string>): fc.Arbitrary<string | null | undefined> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constant(null) },
    { weight: 6, arbitrary: valueText(shaped) },
  );
}

const jobStateRecord: fc.Arbitrary<RecordWithoutId> = fc
  .tuple(
    recordKey(JOB_ROOT),
    fc.constantFrom('put', 'put', 'put', 'put', 'delete') as fc.Arbitrary<'put' | 'delete'>,
    fc.option(valueText(jobStateShaped), { nil: null, freq: 12 }),
    revision,
    readValue(configShaped),
    readValue(stateShaped),
    readValue(heatStackShaped),
    fc.dictionary(fc.string({ maxLength: 30 }), fc.option(fc.string({ maxLength: 30 }), { nil: null }), {
      maxKeys: 2,
    }),
  )
  .map(([key, type, value, modRevision, config, state, heatStack, stray]) => {
    const reads: Record<string, string | null> = { ...stray };
    const readKeys = readKeysFor(key);
    if (readKeys) {
      readKeys.forEach((readKey, i) => {
        const text = [config, state, heatStack][i];
        if (text !== undefined) reads[readKey] = text;
      });
    }
    return { type, key, value: type === 'delete' ? null : value, modRevision, reads };
  });

function batch(records: fc.Arbitrary<RecordWithoutId>, route: string): fc.Arbitrary<StageRequest> {
  return fc
    .array(records, { minLength: 1, maxLength: 6 })
    .map((list) => ({ route, records: list.map((record, i) => ({ id: `r${i}`, ...record })) }));
}

/** The keys a stage may write for a record: heat-stacks the job_state key; job-state the state key and itself. */
function allowedWrites(stage: Stage, record: StageRecord): { put: string; delete?: string } {
  if (stage === heatStacksStage)
    return { put: resourceKey('jobState', parseResourceKey('heatStack', record.key)) };
  return { put: resourceKey('state', parseResourceKey('jobState', record.key)), delete: record.key };
}

/** Runs a batch and checks every property of the module comment; returns the response. */
function checkBatch(stage: Stage, request: StageRequest): StageResponse {
  let response: StageResponse;
  try {
    response = runStageBatch(stage, request);
  } catch (error) {
    throw new Error(`runStageBatch threw: ${String(error)}`);
  }
  const parsed = StageResponseSchema.safeParse(response);
  if (!parsed.success) throw new Error(`response breaks the contract: ${parsed.error.message}`);

  const seen = new Map<string, number>();
  for (const id of [
    ...response.results.map((r) => r.id),
    ...response.batchItemFailures.map((f) => f.itemIdentifier),
  ])
    seen.set(id, (seen.get(id) ?? 0) + 1);
  for (const record of request.records) {
    if (seen.get(record.id) !== 1)
      throw new Error(`record ${record.id} answered ${seen.get(record.id) ?? 0} times`);
  }
  if (seen.size !== request.records.length)
    throw new Error(`answers for records that were not sent: ${[...seen.keys()]}`);

  const byId = new Map(request.records.map((r) => [r.id, r]));
  for (const failure of response.batchItemFailures) {
    const record = byId.get(failure.itemIdentifier)!;
    if (failure.retryable || !TERMINAL_ERRORS.has(failure.errorType ?? ''))
      throw new Error(`not a TransformError (a crash of the stage): ${failure.errorType}: ${failure.error}`);
    const named = [record.key, ...Object.keys(record.reads)].some((key) => failure.error.includes(key));
    if (failure.error.trim() === '' || !named)
      throw new Error(`failure does not name the key ${JSON.stringify(record.key)}: ${failure.error}`);
  }
  for (const result of response.results) {
    const record = byId.get(result.id)!;
    if (result.mutations.length === 0) continue;
    const allowed = allowedWrites(stage, record);
    for (const mutation of result.mutations) {
      MutationSchema.parse(mutation);
      if (mutation.op === 'put') {
        if (mutation.key !== allowed.put) throw new Error(`put to ${mutation.key}, expected ${allowed.put}`);
        // Output is the codec's own layout: it reads back and writes out identically.
        if (dumpsIndented(parseJson(mutation.value)) !== mutation.value)
          throw new Error(`put value is not in the indented layout: ${mutation.value}`);
      } else {
        if (mutation.key !== allowed.delete) throw new Error(`delete of ${mutation.key}`);
        if (mutation.ifModRevision !== record.modRevision)
          throw new Error('delete without its revision guard');
      }
    }
  }
  return response;
}

describe('stages fuzz', () => {
  it('heat-stacks: every record a result or a terminal failure naming its key', () => {
    let results = 0;
    let failures = 0;
    fc.assert(
      fc.property(batch(heatStackRecord, 'heat-stacks'), (request) => {
        const response = checkBatch(heatStacksStage, request);
        results += response.results.filter((r) => r.mutations.length > 0).length;
        failures += response.batchItemFailures.length;
      }),
      { numRuns: runs(4_000) },
    );
    // The generators reach both outcomes, not only the parse errors.
    expect(results).toBeGreaterThan(100);
    expect(failures).toBeGreaterThan(100);
  });

  it('job-state: every record a result or a terminal failure naming its key or a read key', () => {
    let results = 0;
    let failures = 0;
    fc.assert(
      fc.property(batch(jobStateRecord, 'job-state'), (request) => {
        const response = checkBatch(jobStateStage, request);
        results += response.results.filter((r) => r.mutations.length > 0).length;
        failures += response.batchItemFailures.length;
      }),
      { numRuns: runs(4_000) },
    );
    expect(results).toBeGreaterThan(100);
    expect(failures).toBeGreaterThan(100);
  });
});

const REF = { api: 'v2.0', collection: 'ports', id: 'big-7864794a' };
const HEAT_KEY = resourceKey('heatStack', REF);
const JOB_KEY = resourceKey('jobState', REF);

/** A heat stack record as Heat writes it (indent 4), with `outputs` entries, within 2 KiB of `bytes`. */
function heatStackOfSize(bytes: number, status = 'UPDATE_FAILED'): string {
  const entry = (i: number) => ({
    output_value: [
      `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      { port: i, 'm\u00e9tadonn\u00e9e': '\u7aef\u53e3' },
    ],
    description: `Fixed IP "${i}" \\ \u00fcber`,
    output_key: `fixed_ip_${i}`,
  });
  const text = (n: number) =>
    JSON.stringify(
      {
        stack_id: `port_${REF.id}`,
        stack_status: status,
        output: Array.from({ length: n }, (_, i) => entry(i)),
        status_reason: 'Resource UPDATE failed: \u00e9chec',
      },
      null,
      4,
    );
  const perEntry = Buffer.byteLength(text(101), 'utf8') - Buffer.byteLength(text(100), 'utf8');
  let n = Math.floor((bytes - Buffer.byteLength(text(0), 'utf8')) / perEntry);
  while (Buffer.byteLength(text(n), 'utf8') > bytes) n--;
  return text(n);
}

describe('stage limits', () => {
  it('a heat stack at 1.5 MiB goes through both stages and gives valid output', () => {
    const heatStack = heatStackOfSize(ETCD_MAX_REQUEST_BYTES - 1024);
    const heatBytes = Buffer.byteLength(heatStack, 'utf8');
    expect(heatBytes).toBeGreaterThan(ETCD_MAX_REQUEST_BYTES - 4096);

    const first = checkBatch(heatStacksStage, {
      route: 'heat-stacks',
      records: [{ id: '1', type: 'put', key: HEAT_KEY, value: heatStack, modRevision: '10', reads: {} }],
    });
    expect(first.batchItemFailures).toEqual([]);
    const jobState = first.results[0]!.mutations[0]!;
    if (jobState.op !== 'put') throw new Error('expected a put');
    expect(jobState.key).toBe(JOB_KEY);

    const second = checkBatch(jobStateStage, {
      route: 'job-state',
      records: [
        {
          id: '1',
          type: 'put',
          key: JOB_KEY,
          value: jobState.value,
          modRevision: '11',
          reads: {
            [resourceKey('config', REF)]: '{"version": 7}',
            [resourceKey('state', REF)]: null,
            [HEAT_KEY]: heatStack,
          },
        },
      ],
    });
    expect(second.batchItemFailures).toEqual([]);
    const [statePut, jobDelete] = second.results[0]!.mutations;
    if (statePut?.op !== 'put') throw new Error('expected a put');
    expect(jobDelete).toEqual({ op: 'delete', key: JOB_KEY, ifModRevision: '11' });

    // The outputs survive both stages exactly: state.heat_outputs is json.dumps of the heat stack's.
    const original = parseJson(heatStack) as PyObject;
    const state = parseJson(statePut.value) as PyObject;
    const inner = state.get('state') as PyObject;
    expect(inner.get('heat_outputs')).toBe(dumpsCompact(original.get('output')!));
    expect(inner.get('worker_state')).toBe('MODIFY_FAILED');
    expect(state.get('error')).toBe('Resource UPDATE failed: \u00e9chec');
    expect(dumpsCompact(state.get('version')!)).toBe('7');

    // What the writes weigh: every non-ASCII character becomes \uXXXX and the state record quotes
    // the outputs a second time, so (2) and (3) come out larger than the (1) they derive from.
    const jobBytes = Buffer.byteLength(jobState.value, 'utf8');
    const stateBytes = Buffer.byteLength(statePut.value, 'utf8');
    expect(jobBytes).toBeGreaterThan(heatBytes * 0.9);
    expect(stateBytes).toBeGreaterThan(jobBytes * 0.5);
  });

  it('rejects a record nested 10k deep with a readable error naming the key, no stack overflow', () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const heat = runStageBatch(heatStacksStage, {
      route: 'heat-stacks',
      records: [
        {
          id: '1',
          type: 'put',
          key: HEAT_KEY,
          value: `{"stack_status": "CREATE_COMPLETE", "output": ${deep}}`,
          modRevision: '5',
          reads: {},
        },
      ],
    });
    expect(heat.results).toEqual([]);
    expect(heat.batchItemFailures).toEqual([
      {
        itemIdentifier: '1',
        retryable: false,
        errorType: 'RecordValidationError',
        error: expect.stringMatching(
          new RegExp(
            `^${HEAT_KEY.replaceAll('.', '\\.')}: JSON nested deeper than 1000 levels \\(char \\d+\\)$`,
          ),
        ),
      },
    ]);

    const configKey = resourceKey('config', REF);
    const job = runStageBatch(jobStateStage, {
      route: 'job-state',
      records: [
        {
          id: '1',
          type: 'put',
          key: JOB_KEY,
          value: '{"heat_outputs": [], "orchestration_state": "CREATE_COMPLETE"}',
          modRevision: '6',
          reads: { [configKey]: `{"version": ${deep}}` },
        },
        { id: '2', type: 'put', key: JOB_KEY, value: deep, modRevision: '7', reads: {} },
      ],
    });
    expect(job.results).toEqual([]);
    expect(
      job.batchItemFailures.map((f) => [f.itemIdentifier, f.retryable, f.error.split(': JSON')[0]]),
    ).toEqual([
      ['1', false, configKey],
      ['2', false, JOB_KEY],
    ]);
    for (const failure of job.batchItemFailures)
      expect(failure.error).toMatch(/nested deeper than 1000 levels/);
  });

  it('takes a heat stack nested right at the limit through both stages', () => {
    // The record is level 1 and `output` level 2, so 998 more levels inside reach 1000.
    const output = `[${'['.repeat(998)}"x"${']'.repeat(998)}]`;
    const heat = checkBatch(heatStacksStage, {
      route: 'heat-stacks',
      records: [
        {
          id: '1',
          type: 'put',
          key: HEAT_KEY,
          value: `{"stack_status": "CREATE_COMPLETE", "output": ${output}}`,
          modRevision: '5',
          reads: {},
        },
      ],
    });
    expect(heat.batchItemFailures).toEqual([]);
    const put = heat.results[0]!.mutations[0]!;
    if (put.op !== 'put') throw new Error('expected a put');
    const job = checkBatch(jobStateStage, {
      route: 'job-state',
      records: [{ id: '1', type: 'put', key: JOB_KEY, value: put.value, modRevision: '6', reads: {} }],
    });
    expect(job.batchItemFailures).toEqual([]);
    expect(job.results[0]!.mutations).toHaveLength(2);
  });
});
