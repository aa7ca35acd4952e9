import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildDeadLetterRecord, type DeadLetterInput } from '../../../bridge/dlq/record.js';
import { SqsDeadLetterSink } from '../../../bridge/dlq/sqs-sink.js';
import { ConfigError } from '../../../bridge/errors.js';
import { type FakeSqs, fakeSqs, SQS_MAX_MESSAGE_BYTES } from './fake-sqs.js';

const HEAT_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/heat-stacks-dlq';
const JOB_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/job-state-dlq';

function input(revision: bigint, value: Buffer | null, route = 'heat-stacks'): DeadLetterInput {
  return {
    route,
    key: `/esi-worker/heat_stacks/v2.0/ports/p${revision}`,
    type: 'put',
    modRevision: revision,
    value,
    errorType: 'JsonSyntaxError',
    errorMessage: 'bad',
    attempts: 1,
    firstAttemptAt: 1,
    lastAttemptAt: 2,
    bridgeId: 'b1',
  };
}

describe('SqsDeadLetterSink (SQSClient mocked)', () => {
  let sqs: FakeSqs;
  let sink: SqsDeadLetterSink;

  beforeEach(() => {
    sqs = fakeSqs([HEAT_URL, JOB_URL]);
    sink = new SqsDeadLetterSink(
      new SQSClient({ region: 'eu-west-1' }),
      { 'heat-stacks': HEAT_URL, 'job-state': JOB_URL },
      { receiveWaitSeconds: 0 },
    );
  });
  afterEach(() => sqs.restore());

  it("sends the record as the same JSON the etcd sink stores, to its route's queue, with route and error attributes", async () => {
    const record = buildDeadLetterRecord(input(7n, Buffer.from('{oops')), sink.maxValueBytes);
    await sink.send(record);
    const calls = sqs.mock.commandCalls(SendMessageCommand);
    expect(calls).toHaveLength(1);
    const sent = calls[0]!.args[0].input;
    expect(sent.QueueUrl).toBe(HEAT_URL);
    expect(sent.MessageBody).toBe(JSON.stringify(record));
    expect(JSON.parse(sent.MessageBody!)).toEqual(record);
    expect(sent.MessageAttributes).toEqual({
      route: { DataType: 'String', StringValue: 'heat-stacks' },
      errorType: { DataType: 'String', StringValue: 'JsonSyntaxError' },
    });
  });

  it('leaves a value over the 256 KiB message limit out, keeping size and sha256, so the message fits', async () => {
    const big = Buffer.alloc(300 * 1024, 'a');
    const record = buildDeadLetterRecord(input(8n, big), sink.maxValueBytes);
    expect(record.value).toBeUndefined();
    expect(record.valueSize).toBe(big.length);
    await sink.send(record);
    const body = sqs.mock.commandCalls(SendMessageCommand)[0]!.args[0].input.MessageBody!;
    expect(Buffer.byteLength(body)).toBeLessThan(SQS_MAX_MESSAGE_BYTES);
    expect(JSON.parse(body)).toEqual(record);

    // Just under the sink's limit, the value is kept and the message still fits.
    const near = buildDeadLetterRecord(input(9n, Buffer.alloc(sink.maxValueBytes, 'b')), sink.maxValueBytes);
    expect(near.value).toHaveLength(sink.maxValueBytes);
    await sink.send(near);
    expect(sqs.bodies(HEAT_URL)).toHaveLength(2);
  });

  it('refuses a route without a queue URL', async () => {
    const record = buildDeadLetterRecord(input(1n, Buffer.from('x'), 'other'), sink.maxValueBytes);
    await expect(sink.send(record)).rejects.toBeInstanceOf(ConfigError);
  });

  it('lists every message of a queue page by page, removes one by its receipt, and counts the rest', async () => {
    for (let rev = 1n; rev <= 23n; rev++)
      await sink.send(buildDeadLetterRecord(input(rev, Buffer.from(`v${rev}`)), sink.maxValueBytes));
    await sink.send(buildDeadLetterRecord(input(99n, Buffer.from('j'), 'job-state'), sink.maxValueBytes));

    const listed = await sink.list('heat-stacks', 1000);
    expect(listed.map((e) => e.record.modRevision).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 23 }, (_, i) => String(i + 1)),
    );
    expect(listed.every((e) => e.record.route === 'heat-stacks')).toBe(true);
    expect(await sink.count('heat-stacks')).toBe(23);
    expect(await sink.count('job-state')).toBe(1);

    const victim = listed.find((e) => e.record.modRevision === '5')!;
    await sink.remove(victim);
    const deleted = sqs.mock.commandCalls(DeleteMessageCommand)[0]!.args[0].input;
    expect(deleted.QueueUrl).toBe(HEAT_URL);
    expect(victim.id.endsWith(deleted.ReceiptHandle!)).toBe(true);
    expect(await sink.count('heat-stacks')).toBe(22);

    // Listed messages are hidden until released; release makes them visible at once.
    expect(await sink.list('heat-stacks', 1000)).toEqual([]);
    await sink.release(listed.filter((e) => e !== victim));
    expect(sqs.mock.commandCalls(ChangeMessageVisibilityBatchCommand)).toHaveLength(3); // 22 in batches of 10
    const again = await sink.list(undefined, 1000);
    expect(again).toHaveLength(23); // 22 heat-stacks + 1 job-state
    expect(again.some((e) => e.record.modRevision === '5')).toBe(false);
  });

  it('stops at the limit, and replaces a record by sending the new one and deleting the old', async () => {
    for (let rev = 1n; rev <= 5n; rev++)
      await sink.send(buildDeadLetterRecord(input(rev, Buffer.from('v')), sink.maxValueBytes));
    const two = await sink.list('heat-stacks', 2);
    expect(two).toHaveLength(2);
    const first = two[0]!;
    await sink.replace(first, { ...first.record, attempts: 2, errorMessage: 'again' });
    const bodies = sqs
      .bodies(HEAT_URL)
      .map((b) => JSON.parse(b) as { modRevision: string; attempts: number });
    expect(bodies).toHaveLength(5);
    expect(bodies.filter((b) => b.modRevision === first.record.modRevision)).toEqual([
      expect.objectContaining({ attempts: 2 }),
    ]);
  });
});
