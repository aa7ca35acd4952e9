/**
 * The bridge ↔ function contract (DESIGN §5): JSON over Lambda Invoke. Revisions are decimal
 * strings because etcd's int64 revisions pass 2^53.
 */
import { z } from 'zod';

export const RevisionSchema = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,18})$/, 'expected a revision as a decimal string');

export const StageRecordSchema = z.strictObject({
  /** Unique within the batch; results and failures refer to it. */
  id: z.string().min(1),
  type: z.enum(['put', 'delete']),
  key: z.string().min(1),
  /** The value as UTF-8 text; null for a delete. */
  value: z.string().nullable(),
  modRevision: RevisionSchema,
  /** The keys the route reads for this record, from one snapshot; null when absent. */
  reads: z.record(z.string(), z.string().nullable()),
});
export type StageRecord = z.infer<typeof StageRecordSchema>;

export const StageRequestSchema = z.strictObject({
  route: z.string().min(1),
  records: z.array(StageRecordSchema),
});
export type StageRequest = z.infer<typeof StageRequestSchema>;

export const PutMutationSchema = z.strictObject({
  op: z.literal('put'),
  key: z.string().min(1),
  value: z.string(),
});

export const DeleteMutationSchema = z.strictObject({
  op: z.literal('delete'),
  key: z.string().min(1),
  /** Delete only if the key is still at this revision; the bridge drops the delete otherwise. */
  ifModRevision: RevisionSchema.optional(),
});

export const MutationSchema = z.discriminatedUnion('op', [PutMutationSchema, DeleteMutationSchema]);
export type Mutation = z.infer<typeof MutationSchema>;
export type PutMutation = z.infer<typeof PutMutationSchema>;
export type DeleteMutation = z.infer<typeof DeleteMutationSchema>;

export const StageResultSchema = z.strictObject({
  id: z.string().min(1),
  mutations: z.array(MutationSchema),
});
export type StageResult = z.infer<typeof StageResultSchema>;

export const BatchItemFailureSchema = z.strictObject({
  itemIdentifier: z.string().min(1),
  /** False when retrying the same record cannot help (bad input, rejected status). */
  retryable: z.boolean(),
  error: z.string(),
  /** The error's class name, for dead-letter records and metrics. */
  errorType: z.string().optional(),
});
export type BatchItemFailure = z.infer<typeof BatchItemFailureSchema>;

export const StageResponseSchema = z.strictObject({
  results: z.array(StageResultSchema),
  batchItemFailures: z.array(BatchItemFailureSchema),
});
export type StageResponse = z.infer<typeof StageResponseSchema>;
