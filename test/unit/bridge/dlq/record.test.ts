import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildDeadLetterRecord,
  type DeadLetterInput,
  DeadLetterRecordSchema,
  idMatches,
  MAX_ERROR_MESSAGE_CHARS,
  recordId,
  recordValueBytes,
  withFailedAttempt,
} from '../../../../bridge/dlq/record.js';

const FIRST = Date.parse('2026-01-02T03:04:05.006Z');
const LAST = Date.parse('2026-01-02T03:04:09.000Z');

function input(value: Buffer | null, overrides: Partial<DeadLetterInput> = {}): DeadLetterInput {
  return {
    route: 'heat-stacks',
    key: '/esi-worker/heat_stacks/v2.0/ports/p1',
    type: value === null ? 'delete' : 'put',
    modRevision: 12_345_678_901_234_567n,
    value,
    errorType: 'JsonSyntaxError',
    errorMessage: 'not JSON at offset 3',
    attempts: 3,
    firstAttemptAt: FIRST,
    lastAttemptAt: LAST,
    bridgeId: 'host-1-abcd',
    ...overrides,
  };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('buildDeadLetterRecord', () => {
  it('keeps the whole record: route, key, revision as a string, value, error, attempts, timestamps, bridge', () => {
    const before = Date.now();
    const record = buildDeadLetterRecord(input(Buffer.from('{"a": 1')), 1024);
    expect(record).toMatchObject({
      route: 'heat-stacks',
      key: '/esi-worker/heat_stacks/v2.0/ports/p1',
      type: 'put',
      modRevision: '12345678901234567',
      value: '{"a": 1',
      valueEncoding: 'utf8',
      valueSize: 7,
      valueSha256: sha256(Buffer.from('{"a": 1')),
      errorType: 'JsonSyntaxError',
      errorMessage: 'not JSON at offset 3',
      attempts: 3,
      firstAttemptAt: '2026-01-02T03:04:05.006Z',
      lastAttemptAt: '2026-01-02T03:04:09.000Z',
      bridgeId: 'host-1-abcd',
    });
    expect(Date.parse(record.deadLetteredAt)).toBeGreaterThanOrEqual(before - 1);
    // It is exactly what the schema (and so every sink's reader) accepts.
    expect(DeadLetterRecordSchema.parse(JSON.parse(JSON.stringify(record)))).toEqual(record);
  });

  it('keeps a value of exactly maxValueBytes, and leaves one byte more out, keeping its size and sha256', () => {
    const limit = 64;
    const atLimit = Buffer.alloc(limit, 'x');
    const over = Buffer.alloc(limit + 1, 'x');
    expect(buildDeadLetterRecord(input(atLimit), limit).value).toBe(atLimit.toString());

    const record = buildDeadLetterRecord(input(over), limit);
    expect('value' in record).toBe(false);
    expect('valueEncoding' in record).toBe(false);
    expect(record.valueSize).toBe(limit + 1);
    expect(record.valueSha256).toBe(sha256(over));
    expect(recordValueBytes(record)).toBeUndefined();
    expect(DeadLetterRecordSchema.parse(JSON.parse(JSON.stringify(record)))).toEqual(record);
  });

  it('measures the limit in bytes, not characters', () => {
    const text = 'é'.repeat(40); // 40 characters, 80 bytes
    expect(buildDeadLetterRecord(input(Buffer.from(text)), 80).value).toBe(text);
    const record = buildDeadLetterRecord(input(Buffer.from(text)), 79);
    expect(record.value).toBeUndefined();
    expect(record.valueSize).toBe(80);
  });

  it('stores a value that is not UTF-8 as base64, and gives the same bytes back', () => {
    const bytes = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x80, 0x22, 0x7d]);
    const record = buildDeadLetterRecord(input(bytes), 1024);
    expect(record.valueEncoding).toBe('base64');
    expect(record.value).toBe(bytes.toString('base64'));
    expect(record.valueSize).toBe(7);
    expect(record.valueSha256).toBe(sha256(bytes));
    expect(recordValueBytes(record)?.equals(bytes)).toBe(true);
  });

  it('keeps valid multi-byte and astral UTF-8 as text', () => {
    const text = '{"name": "café 😀"}';
    const record = buildDeadLetterRecord(input(Buffer.from(text)), 1024);
    expect(record.valueEncoding).toBe('utf8');
    expect(record.value).toBe(text);
    expect(recordValueBytes(record)?.toString('utf8')).toBe(text);
  });

  it('treats a lone surrogate encoded in the bytes (CESU-style) as not UTF-8', () => {
    const bytes = Buffer.from([0xed, 0xa0, 0x80]);
    expect(buildDeadLetterRecord(input(bytes), 1024).valueEncoding).toBe('base64');
  });

  it('records a delete with a null value, size 0 and the sha256 of nothing', () => {
    const record = buildDeadLetterRecord(input(null), 1024);
    expect(record.type).toBe('delete');
    expect(record.value).toBeNull();
    expect(record.valueSize).toBe(0);
    expect(record.valueSha256).toBe(sha256(Buffer.alloc(0)));
    expect(recordValueBytes(record)).toBeNull();
  });

  it('cuts a long error message to its limit', () => {
    const record = buildDeadLetterRecord(input(Buffer.from('x'), { errorMessage: 'e'.repeat(10_000) }), 10);
    expect(record.errorMessage).toHaveLength(MAX_ERROR_MESSAGE_CHARS);
  });
});

describe('DeadLetterRecordSchema', () => {
  it('rejects unknown fields and a revision that is not a decimal string', () => {
    const record = buildDeadLetterRecord(input(Buffer.from('x')), 10);
    expect(DeadLetterRecordSchema.safeParse({ ...record, extra: 1 }).success).toBe(false);
    expect(DeadLetterRecordSchema.safeParse({ ...record, modRevision: 42 }).success).toBe(false);
    expect(DeadLetterRecordSchema.safeParse({ ...record, attempts: 0 }).success).toBe(false);
  });
});

describe('record ids and redrive bookkeeping', () => {
  it('names a record by route, revision and key, and matches a unique route/revision prefix', () => {
    const record = buildDeadLetterRecord(input(Buffer.from('x'), { modRevision: 42n }), 10);
    const id = recordId(record);
    expect(id).toBe(`heat-stacks/42/${Buffer.from(record.key).toString('base64url')}`);
    expect(idMatches(record, id)).toBe(true);
    expect(idMatches(record, 'heat-stacks/42')).toBe(true);
    expect(idMatches(record, 'heat-stacks/42/')).toBe(true);
    expect(idMatches(record, 'heat-stacks/4')).toBe(false);
    expect(idMatches(record, 'heat-stacks/420')).toBe(false);
    expect(idMatches(record, 'job-state/42')).toBe(false);
  });

  it('counts a failed redrive as one more attempt, with its error and time', () => {
    const record = buildDeadLetterRecord(input(Buffer.from('x')), 10);
    const at = new Date('2026-02-01T00:00:00.000Z');
    const again = withFailedAttempt(record, 'Unhandled', 'still broken', at);
    expect(again).toEqual({
      ...record,
      errorType: 'Unhandled',
      errorMessage: 'still broken',
      attempts: 4,
      lastAttemptAt: at.toISOString(),
      deadLetteredAt: at.toISOString(),
    });
    expect(again.firstAttemptAt).toBe(record.firstAttemptAt);
  });
});

describe('buildDeadLetterRecord: the whole record fits the sink', () => {
  it("an SQS record with a value just under the sink's limit and a non-ASCII error message stays within 256 KiB", async () => {
    const { SqsDeadLetterSink } = await import('../../../../bridge/dlq/sqs-sink.js');
    const sink = new SqsDeadLetterSink(() => ({}) as never, { 'heat-stacks': 'url' });
    // stack_status "中中…" is rejected, and the error names it (shared/errors.ts): 3 bytes a character.
    const errorMessage = `stack_status ${JSON.stringify('中'.repeat(5000))} has no worker_state; record rejected`;
    const record = buildDeadLetterRecord(
      input(Buffer.alloc(sink.maxValueBytes, 'a'), { errorMessage }),
      sink.maxValueBytes,
    );
    expect(Buffer.byteLength(JSON.stringify(record))).toBeLessThanOrEqual(256 * 1024);
  });
});
