/**
 * fast-check generators of hostile input for the codec and the stages: arbitrary bytes decoded as
 * the bridge would never decode them (leniently, so invalid UTF-8 becomes U+FFFD), JSON texts, JSON
 * texts with one edit, and objects shaped like the pipeline's records whose fields have random types.
 */
import fc from 'fast-check';
import { REF } from './records.js';

/** How many cases a property runs: FUZZ_SCALE=<x> multiplies every default (e.g. 10 for a long soak). */
export function runs(defaultRuns: number): number {
  const scale = Number(process.env.FUZZ_SCALE ?? 1);
  return Math.max(1, Math.round(defaultRuns * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

const lenient = new TextDecoder('utf-8', { fatal: false });

/** Bytes that mean something to a JSON scanner, so random byte strings get past the first character. */
const JSON_BYTES = [...Buffer.from('{}[]",:-+.0123456789eEtrufalsnNIiy\\/ \t\r\n')];

export const bytes = fc.uint8Array({ maxLength: 200 }).chain((raw) =>
  fc
    .array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...JSON_BYTES)), {
      maxLength: 200,
    })
    .map((extra) => Uint8Array.from([...raw.slice(0, 100), ...extra])),
);

/** Random bytes decoded leniently. */
export const bytesText = bytes.map((b) => lenient.decode(b));

/** Any JSON text JSON.stringify writes, compact or indented. */
export const jsonText = fc
  .tuple(fc.jsonValue({ maxDepth: 6 }), fc.constantFrom(undefined, 0, 1, 4, '\t'))
  .map(([value, indent]) => JSON.stringify(value, null, indent));

/** A JSON text with one character deleted, inserted or replaced. */
export const mutatedJsonText = fc
  .tuple(
    jsonText,
    fc.nat(),
    fc.constantFrom('delete', 'insert', 'replace'),
    fc.constantFrom(...',:[]{}"\\0123456789.eE+-xnul tfINa\n\t\u0000\u0001\u00a0\ufeff\ud800\udfff'),
  )
  .map(([text, at, op, c]) => {
    const i = at % (text.length + 1);
    if (op === 'delete') return text.slice(0, i) + text.slice(i + 1);
    if (op === 'insert') return text.slice(0, i) + c + text.slice(i);
    return text.slice(0, i) + c + text.slice(i + 1);
  });

/** Number texts JSON.stringify never writes but Python does (and hostile ones). */
const pyNumberText = fc.constantFrom(
  '1.0',
  '-0.0',
  '1E+2',
  '1e400',
  '-1e400',
  'NaN',
  'Infinity',
  '-Infinity',
  '123456789012345678901234567890',
  '5e-324',
  '0.1',
);

/** Any JSON value, or a Python-only number, as text. */
const anyValueText = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: pyNumberText },
);

/** An object text with these fields (each an already-written JSON text, or absent), in random order. */
function objectText(fields: Record<string, fc.Arbitrary<string | undefined>>): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.record(fields),
      fc.dictionary(fc.string({ maxLength: 8 }), anyValueText, { maxKeys: 3 }),
      fc.boolean(),
      fc.constantFrom('', '\n    ', ' '),
    )
    .chain(([known, extra, extraFirst, sep]) => {
      const entries = Object.entries(known).filter((e): e is [string, string] => e[1] !== undefined);
      const extras = Object.entries(extra);
      const all = extraFirst ? [...extras, ...entries] : [...entries, ...extras];
      return fc
        .shuffledSubarray(all, { minLength: all.length, maxLength: all.length })
        .map(
          (shuffled) => `{${sep}${shuffled.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(`,${sep}`)}}`,
        );
    });
}

const optional = (arb: fc.Arbitrary<string>): fc.Arbitrary<string | undefined> =>
  fc.option(arb, { nil: undefined, freq: 5 });

const STACK_STATUSES = [
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'DELETE_COMPLETE',
  'CREATE_FAILED',
  'UPDATE_FAILED',
  'DELETE_FAILED',
  'CREATE_IN_PROGRESS',
  'UPDATE_IN_PROGRESS',
  'DELETE_IN_PROGRESS',
  'ROLLBACK_COMPLETE',
  'ROLLBACK_FAILED',
  'ROLLBACK_IN_PROGRESS',
  'SUSPEND_COMPLETE',
  'CHECK_COMPLETE',
  '',
];

const statusText = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...STACK_STATUSES).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: anyValueText },
);

const WORKER_STATES = ['CREATE_COMPLETED', 'MODIFY_IN_PROGRESS', 'CREATE_FAILED', 'DELETE_COMPLETED', 'X'];

/** An output list: usually an array of Heat output entries, sometimes anything at all. */
const outputsText = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .array(
        objectText({
          output_value: optional(anyValueText),
          description: optional(fc.string({ maxLength: 20 }).map((s) => JSON.stringify(s))),
          output_key: optional(fc.string({ maxLength: 10 }).map((s) => JSON.stringify(s))),
        }),
        { maxLength: 4 },
      )
      .map((items) => `[${items.join(', ')}]`),
  },
  { weight: 2, arbitrary: anyValueText },
);

/** A string field: usually a string, sometimes any value. */
const stringish = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 16 }).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: anyValueText },
);

/** A heat stack record (1) with random field types. */
export const heatStackShaped = objectText({
  stack_id: optional(stringish),
  tenant_id: optional(stringish),
  stack_status: optional(statusText),
  output: optional(outputsText),
  status_reason: optional(anyValueText),
  id: optional(stringish),
});

/** A job_state record (2) with random field types, or the `{}` placeholder. */
export const jobStateShaped = fc.oneof(
  { weight: 1, arbitrary: fc.constant('{}') },
  {
    weight: 6,
    arbitrary: objectText({
      heat_outputs: optional(outputsText),
      orchestration_state: optional(statusText),
    }),
  },
);

/** A state record (3) with random field types. */
export const stateShaped = objectText({
  state: optional(
    fc.oneof(
      objectText({
        worker_state: optional(
          fc.oneof(
            fc.constantFrom(...WORKER_STATES).map((s) => JSON.stringify(s)),
            anyValueText,
          ),
        ),
        heat_outputs: optional(anyValueText),
        orchestration_state: optional(anyValueText),
      }),
      anyValueText,
    ),
  ),
  version: optional(fc.oneof(fc.integer().map(String), pyNumberText, anyValueText)),
  error: optional(anyValueText),
});

/** A config record with random field types. */
export const configShaped = objectText({
  version: optional(fc.oneof(fc.integer().map(String), pyNumberText, anyValueText)),
});

/** Any value text a record might hold: anything hostile, or the shape of one of the records. */
export function valueText(shaped: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 2, arbitrary: bytesText },
    { weight: 2, arbitrary: jsonText },
    { weight: 1, arbitrary: mutatedJsonText },
    { weight: 6, arbitrary: shaped },
  );
}

/** One key segment: the seed's, a plausible one, or anything without a `/`. */
const segment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(REF.api, REF.collection, REF.id) },
  { weight: 1, arbitrary: fc.constantFrom('..', '.', '%2F', '\u0000', ' ', '{id}', '$&', '__proto__') },
  {
    weight: 2,
    arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((s) => !s.includes('/')),
  },
);

/** A key under `root` (`/esi-worker/heat_stacks/`), usually well formed, sometimes not at all. */
export function recordKey(root: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.tuple(segment, segment, segment).map(([a, c, i]) => `${root}${a}/${c}/${i}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        `${root}a/b`,
        `${root}a/b/c/d`,
        `${root}//x/y`,
        '/state/a/b/c',
        '/other/key',
        'x',
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }) },
  );
}

/** A revision as the contract allows it. */
export const revision = fc.oneof(
  fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }).map(String),
  fc.integer({ min: 1, max: 1000 }).map(String),
);
