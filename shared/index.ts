/**
 * The transform module: everything the stage functions and the bridge share. Pure: no I/O.
 * Every export is named here, so this file is the whole public surface.
 */

export type {
  BatchItemFailure,
  DeleteMutation,
  Mutation,
  PutMutation,
  StageRecord,
  StageRequest,
  StageResponse,
  StageResult,
} from './contract.js';
export {
  BatchItemFailureSchema,
  MutationSchema,
  RevisionSchema,
  StageRecordSchema,
  StageRequestSchema,
  StageResponseSchema,
  StageResultSchema,
} from './contract.js';
export {
  JsonLimitError,
  JsonSyntaxError,
  RecordValidationError,
  RejectedStatusError,
  TransformError,
} from './errors.js';
export { dumpsCompact, dumpsIndented } from './json/encode.js';
export { pyFloatRepr } from './json/float-repr.js';
export { parseJson } from './json/parse.js';
export { decodeUtf8 } from './json/utf8.js';
export type { PlainJson, PyValue } from './json/value.js';
export { PyNumber, PyObject, pyTypeName, toPlain } from './json/value.js';
export type { KeyParts, KeyPattern } from './key-pattern.js';
export { compileKeyPattern, KeyPatternError } from './key-pattern.js';
export type { RecordKind, ResourceRef } from './keys.js';
export { KEY_PATTERNS, parseResourceKey, resourceKey } from './keys.js';
export type { StageName } from './names.js';
export { isStageName, METRICS_NAMESPACE, STAGE_NAMES } from './names.js';
export type { HeatStackRecord, JobStateRecord, StateRecord } from './records.js';
export {
  ConfigVersionSchema,
  HeatStackRecordSchema,
  JobStateRecordSchema,
  parseRecordObject,
  StateRecordSchema,
  validateRecord,
} from './records.js';
export type { RetryPolicy, Route, RouteInput, StartPosition } from './routes.js';
export { DEFAULT_ROUTES, RetryPolicySchema, RouteSchema, StartPositionSchema } from './routes.js';
export { heatStacksStage, heatStacksTransform } from './stages/heat-stacks.js';
export { jobStateStage, jobStateTransform } from './stages/job-state.js';
export { runStageBatch } from './stages/run-batch.js';
export type { Stage } from './stages/stage.js';
export type { WorkerStateOutcome } from './worker-state.js';
export { isKnownStackStatus, workerStateFor } from './worker-state.js';
