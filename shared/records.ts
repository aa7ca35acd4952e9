/**
 * The etcd records of DESIGN §1 as zod schemas, and the one way a stage reads a record's text.
 *
 * zod validates the plain view of a parsed value (`toPlain`); the transforms then copy the parsed
 * `PyValue`s themselves into their output, so key order and number text survive byte for byte.
 */
import { z } from 'zod';
import { RecordValidationError, TransformError } from './errors.js';
import { parseJson } from './json/parse.js';
import { PyObject, type PyValue, pyTypeName, toPlain } from './json/value.js';

/**
 * Record (1), written by the Heat side. Only the fields the stages read are checked: a record is
 * never refused for a field no stage reads (`stack_id: null` from a stack that failed to create).
 */
export const HeatStackRecordSchema = z.looseObject({
  stack_status: z.string(),
  output: z.array(z.unknown()),
  status_reason: z.unknown().optional(),
});
export type HeatStackRecord = z.infer<typeof HeatStackRecordSchema>;

/** Record (2). `{}` (no heat_outputs) is the job runner's placeholder, which stage job-state ignores. */
export const JobStateRecordSchema = z.looseObject({
  heat_outputs: z.array(z.unknown()),
  orchestration_state: z.string(),
});
export type JobStateRecord = z.infer<typeof JobStateRecordSchema>;

/*
 * Record (3), the previous one, as stage job-state reads it back: each rule checks only the field it
 * reads, and only when it reads it. A state record this stage did not write (or an older form of
 * it) then stops no job that needs nothing from it; it is replaced by the next state written.
 */

/** The previous worker_state, which the rollback rule reads. */
export const PreviousWorkerStateSchema = z.looseObject({
  state: z.looseObject({ worker_state: z.string().optional() }).optional(),
});

/** The previous version, which the version rule reads when the config record has none. */
export const PreviousVersionSchema = z.looseObject({
  version: z.number().optional(),
});

/** The part of a resource's config record `/config/<api>/<collection>/<id>` the pipeline reads. */
export const ConfigVersionSchema = z.looseObject({
  version: z.number().optional(),
});

/** Parse a record's text as a JSON object (CPython semantics); errors name the key. */
export function parseRecordObject(key: string, text: string | null): PyObject {
  if (text === null) throw new RecordValidationError(key, 'value', 'the record has no value');
  let value: PyValue;
  try {
    value = parseJson(text);
  } catch (error) {
    if (error instanceof TransformError)
      throw new RecordValidationError(key, '', error.message, { cause: error });
    throw error;
  }
  if (!(value instanceof PyObject)) {
    throw new RecordValidationError(key, '', `expected a JSON object, got ${pyTypeName(value)}`);
  }
  return value;
}

/** Validate a parsed record against its schema; the error names the first bad field. */
export function validateRecord<S extends z.ZodType>(key: string, schema: S, record: PyObject): z.infer<S> {
  const result = schema.safeParse(toPlain(record));
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new RecordValidationError(key, issue.path.join('.'), issue.message, { cause: result.error });
}
