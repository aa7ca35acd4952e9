/**
 * The transform module's public surface: the bridge ↔ function contract, the stages, and what the
 * functions, the bridge, infra and the tests import from it. Pure: no I/O.
 *
 * Names used only inside shared/ are not re-exported here; a module of shared/ imports another
 * directly (so the records' schemas, the JSON value model and the worker-state rules stay inside).
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
export { parseJson } from './json/parse.js';
export { decodeUtf8 } from './json/utf8.js';
export type { PyValue } from './json/value.js';
export { PyObject } from './json/value.js';
export type { KeyPattern } from './key-pattern.js';
export { compileKeyPattern } from './key-pattern.js';
export { KEY_PATTERNS, parseResourceKey, resourceKey } from './keys.js';
export type { StageName } from './names.js';
export { LAG_COUNT_LIMIT, METRICS_NAMESPACE, STAGE_NAMES } from './names.js';
export type { RetryPolicy, Route, RouteInput } from './routes.js';
export { DEFAULT_ROUTE_CONCURRENCY, DEFAULT_ROUTES, RetryPolicySchema, RouteSchema } from './routes.js';
export { heatStacksStage, heatStacksTransform } from './stages/heat-stacks.js';
export { jobStateStage, jobStateTransform } from './stages/job-state.js';
export { runStageBatch } from './stages/run-batch.js';
export type { Stage } from './stages/stage.js';
