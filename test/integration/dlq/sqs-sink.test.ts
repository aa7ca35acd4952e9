/**
 * The SQS dead-letter sink against a real SQS server (fauxqs): the message is the record's JSON with
 * its attributes, a value over the 256 KiB limit is left out so the message fits, listing receives page
 * by page and hides what it took for the visibility timeout, release gives it back at once.
 */
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildDeadLetterRecord, type DeadLetterInput } from '../../../bridge/dlq/record.js';
import { SqsDeadLetterSink } from '../../../bridge/dlq/sqs-sink.js';
import { ConfigError } from '../../../bridge/errors.js';
import { FAUXQS_CREDENTIALS, FAUXQS_REGION, Fauxqs, SQS_MAX_MESSAGE_BYTES } from '../../helpers/fauxqs.js';

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

describe('SqsDeadLetterSink against fauxqs', () => {
  let sqs: Fauxqs;
  let heatUrl: string;
  let jobUrl: string;
  let sink: SqsDeadLetterSink;
  let run = 0;

  beforeAll(async () => {
    sqs = await Fauxqs.start();
  }, 120_000);
  afterAll(async () => {
    await sqs?.stop();
  });
  beforeEach(async () => {
    // Fresh queues for every test: nothing one leaves behind (or hides) reaches the next.
    run++;
    heatUrl = await sqs.createQueue(`heat-stacks-dlq-${run}`);
    jobUrl = await sqs.createQueue(`job-state-dlq-${run}`);
    sink = newSink();
  });

  /** The sink with a client of its own, pointed at fauxqs as `AWS_ENDPOINT_URL_SQS` points a bridge. */
  function newSink(options: { visibilityTimeoutSeconds?: number } = {}): SqsDeadLetterSink {
    return new SqsDeadLetterSink(
      new SQSClient({ region: FAUXQS_REGION, credentials: FAUXQS_CREDENTIALS, endpoint: sqs.endpoint }),
      { 'heat-stacks': heatUrl, 'job-state': jobUrl },
      { receiveWaitSeconds: 0, ...options },
    );
  }

  /** Receives everything visible in a queue, with attributes (hiding it for 30 s). */
  async function drain(url: string) {
    const out = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        VisibilityTimeout: 30,
      }),
    );
    return out.Messages ?? [];
  }

  it("sends the record as the same JSON the etcd sink stores, to its route's queue, with route and error attributes", async () => {
    const record = buildDeadLetterRecord(input(7n, Buffer.from('{oops')), sink.maxValueBytes);
    await sink.send(record);

    const [message, ...rest] = await drain(heatUrl);
    expect(rest).toEqual([]);
    expect(message?.Body).toBe(JSON.stringify(record));
    expect(JSON.parse(message!.Body!)).toEqual(record);
    expect(message?.MessageAttributes).toEqual({
      route: { DataType: 'String', StringValue: 'heat-stacks' },
      errorType: { DataType: 'String', StringValue: 'JsonSyntaxError' },
    });
    expect(await drain(jobUrl)).toEqual([]);
  });

  it('leaves a value over the 256 KiB message limit out, keeping size and sha256, so the message fits', async () => {
    // The queue really refuses a message over its limit:
    await expect(
      sqs.client.send(
        new SendMessageCommand({ QueueUrl: heatUrl, MessageBody: 'x'.repeat(SQS_MAX_MESSAGE_BYTES + 1) }),
      ),
    ).rejects.toThrow(/shorter than|too long|MaximumMessageSize|262144/i);

    const big = Buffer.alloc(300 * 1024, 'a');
    const record = buildDeadLetterRecord(input(8n, big), sink.maxValueBytes);
    expect(record.value).toBeUndefined();
    expect(record.valueSize).toBe(big.length);
    await sink.send(record);

    // Just under the sink's limit, the value is kept and the message still fits.
    const near = buildDeadLetterRecord(input(9n, Buffer.alloc(sink.maxValueBytes, 'b')), sink.maxValueBytes);
    expect(near.value).toHaveLength(sink.maxValueBytes);
    await sink.send(near);

    const bodies = (await drain(heatUrl)).map((m) => m.Body!);
    expect(bodies).toHaveLength(2);
    for (const body of bodies) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
    expect(bodies.map((b) => JSON.parse(b))).toEqual(expect.arrayContaining([record, near]));
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
    // Visible and in flight both count.
    expect(await sink.count('heat-stacks')).toBe(23);
    expect(await sink.count('job-state')).toBe(1);

    const victim = listed.find((e) => e.record.modRevision === '5')!;
    await sink.remove(victim);
    expect(await sink.count('heat-stacks')).toBe(22);

    // Listed messages are hidden until released; release makes them visible at once (3 batches of ≤ 10).
    expect(await sink.list('heat-stacks', 1000)).toEqual([]);
    await sink.release(listed.filter((e) => e !== victim));
    const again = await sink.list(undefined, 1000);
    expect(again).toHaveLength(23); // 22 heat-stacks + 1 job-state
    expect(again.some((e) => e.record.modRevision === '5')).toBe(false);
  });

  it('gives a listed message left alone back after the visibility timeout, received once more', async () => {
    const short = newSink({ visibilityTimeoutSeconds: 1 });
    await short.send(buildDeadLetterRecord(input(3n, Buffer.from('v')), short.maxValueBytes));
    const first = await short.list('heat-stacks');
    expect(first).toHaveLength(1);
    expect(await short.list('heat-stacks')).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const [message] = await drain(heatUrl);
    expect(message?.Attributes?.ApproximateReceiveCount).toBe('2');
    // The first receipt is stale now; the new one removes it.
    expect(JSON.parse(message!.Body!)).toEqual(first[0]!.record);
  });

  it('stops at the limit, and replaces a record by sending the new one and deleting the old', async () => {
    for (let rev = 1n; rev <= 5n; rev++)
      await sink.send(buildDeadLetterRecord(input(rev, Buffer.from('v')), sink.maxValueBytes));
    const two = await sink.list('heat-stacks', 2);
    expect(two).toHaveLength(2);
    const first = two[0]!;
    await sink.replace(first, { ...first.record, attempts: 2, errorMessage: 'again' });
    await sink.release(two.slice(1));

    const all = await sink.list('heat-stacks', 100);
    expect(all).toHaveLength(5);
    expect(all.filter((e) => e.record.modRevision === first.record.modRevision).map((e) => e.record)).toEqual(
      [expect.objectContaining({ attempts: 2, errorMessage: 'again' })],
    );
  });
});
