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
  /** Attempts in all: the bridge's, then one more for every redrive that failed again. */
  attempts: z.number().int().min(1),
  firstAttemptAt: z.string(),
  lastAttemptAt: z.string(),
  deadLetteredAt: z.string(),
  bridgeId: z.string(),
});
export type DeadLetterRecord = z.infer<typeof DeadLetterRecordSchema>;

/** Longest error message kept in a record. */
export const MAX_ERROR_MESSAGE_CHARS = 4096;
/**
 * Longest error message kept, as the record carries it (JSON text): a sink keeps room beside the
 * value for the other fields (SQS: 8 KiB), which 4096 characters can pass (3 bytes each for CJK,
 * 6 for an escaped control character, and an error may quote the value: shared/errors.ts).
 */
export const MAX_ERROR_MESSAGE_BYTES = 4096;

/** The error message cut to both limits. */
function clipErrorMessage(message: string): string {
  let text = message.slice(0, MAX_ERROR_MESSAGE_CHARS);
  // A character is at most 6 bytes as JSON text: cutting over / 6 of them never cuts too many.
  for (
    let over = jsonBytes(text) - MAX_ERROR_MESSAGE_BYTES;
    over > 0;
    over = jsonBytes(text) - MAX_ERROR_MESSAGE_BYTES
  )
    text = text.slice(0, text.length - Math.ceil(over / 6));
  return text;
}

function jsonBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text)) - 2;
}

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

/** Build the record; the value is left out (size and sha256 kept) when, as JSON text, it passes `maxValueBytes`. */
export function buildDeadLetterRecord(input: DeadLetterInput, maxValueBytes: number): DeadLetterRecord {
  const bytes = input.value ?? Buffer.alloc(0);
  const record: DeadLetterRecord = {
    route: input.route,
    key: input.key,
    type: input.type,
    modRevision: input.modRevision.toString(),
    valueSize: bytes.length,
    valueSha256: sha256Hex(bytes),
    errorType: input.errorType,
    errorMessage: clipErrorMessage(input.errorMessage),
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
    const value = isUtf8 ? utf8 : bytes.toString('base64');
    // The limit holds for the value as the record carries it, JSON text: base64 takes 4 bytes for
    // 3, an escaped character up to 6 (\u0001). Over it, the sink refuses the record (etcd: the
    // request is too large, and the route stops), and it would refuse it again after a restart.
    if (jsonBytes(value) <= maxValueBytes) {
      record.value = value;
      record.valueEncoding = isUtf8 ? 'utf8' : 'base64';
    }
  }
  return record;
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The record's value as bytes; null for a delete; undefined when the record left it out for size
 * (then only `valueSize` and `valueSha256` tell what it was).
 */
export function recordValueBytes(record: DeadLetterRecord): Buffer | null | undefined {
  if (record.value === null) return null;
  if (record.value === undefined) return undefined;
  return record.valueEncoding === 'base64' ? Buffer.from(record.value, 'base64') : Buffer.from(record.value);
}

/**
 * The record's id on the command line, the same in every sink: `<route>/<revision>/<source key,
 * base64url>` (two keys can change at one revision, so the revision alone is not enough).
 */
export function recordId(record: Pick<DeadLetterRecord, 'route' | 'modRevision' | 'key'>): string {
  return `${record.route}/${record.modRevision}/${Buffer.from(record.key).toString('base64url')}`;
}

/** A queue entry's text as a record, or in a few words why it is not one. */
export function readDeadLetterRecord(
  text: string,
): { readonly record: DeadLetterRecord } | { readonly reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { reason: 'not JSON' };
  }
  const parsed = DeadLetterRecordSchema.safeParse(value);
  if (parsed.success) return { record: parsed.data };
  const issue = parsed.error.issues[0];
  return { reason: `not a dead-letter record (${issue?.path.join('.') || 'the value'}: ${issue?.message})` };
}

/** True when `wanted` names this record: its full id, or `<route>/<revision>` when that is unique. */
export function idMatches(record: DeadLetterRecord, wanted: string): boolean {
  const id = recordId(record);
  return id === wanted || id.startsWith(`${wanted.replace(/\/+$/, '')}/`);
}

/** The record after one more failed attempt (a redrive that failed again). */
export function withFailedAttempt(
  record: DeadLetterRecord,
  errorType: string,
  message: string,
  at = new Date(),
): DeadLetterRecord {
  return {
    ...record,
    errorType,
    errorMessage: clipErrorMessage(message),
    attempts: record.attempts + 1,
    lastAttemptAt: at.toISOString(),
    deadLetteredAt: at.toISOString(),
  };
}
