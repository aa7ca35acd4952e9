/**
 * A dead-letter record: the same JSON in every sink (an etcd prefix on one machine, SQS in AWS),
 * so list / show / redrive work the same on both.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RevisionSchema } from '../../shared/index.js';

export const DeadLetterRecordSchema = z.strictObject({
  route: z.string(),
  key: z.string(),
  type: z.enum(['put', 'delete']),
  modRevision: RevisionSchema,
  /** The value as text (base64 when it was not UTF-8); absent when over the sink's size limit. */
  value: z.string().nullable().optional(),
  valueEncoding: z.enum(['utf8', 'base64']).optional(),
  valueSize: z.number().int().min(0),
  valueSha256: z.string(),
  errorType: z.string(),
  errorMessage: z.string(),
  attempts: z.number().int().min(1),
  firstAttemptAt: z.string(),
  lastAttemptAt: z.string(),
  deadLetteredAt: z.string(),
  bridgeId: z.string(),
});
export type DeadLetterRecord = z.infer<typeof DeadLetterRecordSchema>;

export interface DeadLetterInput {
  route: string;
  key: string;
  type: 'put' | 'delete';
  modRevision: bigint;
  value: Buffer | null;
  errorType: string;
  errorMessage: string;
  attempts: number;
  firstAttemptAt: number;
  lastAttemptAt: number;
  bridgeId: string;
}

/** Build the record; the value is left out (size and sha256 kept) when it passes `maxValueBytes`. */
export function buildDeadLetterRecord(input: DeadLetterInput, maxValueBytes: number): DeadLetterRecord {
  const bytes = input.value ?? Buffer.alloc(0);
  const record: DeadLetterRecord = {
    route: input.route,
    key: input.key,
    type: input.type,
    modRevision: input.modRevision.toString(),
    valueSize: bytes.length,
    valueSha256: createHash('sha256').update(bytes).digest('hex'),
    errorType: input.errorType,
    errorMessage: input.errorMessage.slice(0, 4096),
    attempts: input.attempts,
    firstAttemptAt: new Date(input.firstAttemptAt).toISOString(),
    lastAttemptAt: new Date(input.lastAttemptAt).toISOString(),
    deadLetteredAt: new Date().toISOString(),
    bridgeId: input.bridgeId,
  };
  if (input.value === null) record.value = null;
  else if (bytes.length <= maxValueBytes) {
    const utf8 = bytes.toString('utf8');
    const isUtf8 = Buffer.from(utf8, 'utf8').equals(bytes);
    record.value = isUtf8 ? utf8 : bytes.toString('base64');
    record.valueEncoding = isUtf8 ? 'utf8' : 'base64';
  }
  return record;
}
