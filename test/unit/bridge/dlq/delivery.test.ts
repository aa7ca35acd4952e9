import { describe, expect, it } from 'vitest';
import { deliverDeadLetter } from '../../../../bridge/dlq/delivery.js';
import type { DeadLetterInput, DeadLetterRecord } from '../../../../bridge/dlq/record.js';
import type { DeadLetterSink } from '../../../../bridge/dlq/sink.js';
import { ConfigError } from '../../../../bridge/errors.js';

const input: DeadLetterInput = {
  route: 'heat-stacks',
  key: '/k',
  type: 'put',
  modRevision: 9n,
  value: Buffer.from('{'),
  errorType: 'RecordValidationError',
  errorMessage: 'not JSON',
  attempts: 1,
  firstAttemptAt: 0,
  lastAttemptAt: 0,
  bridgeId: 'b',
};

function sendingSink(failures: Error[]): DeadLetterSink & { sent: DeadLetterRecord[] } {
  const sent: DeadLetterRecord[] = [];
  return {
    kind: 'sqs',
    maxValueBytes: 1024,
    sent,
    send: async (record) => {
      const failure = failures.shift();
      if (failure) throw failure;
      sent.push(record);
    },
    list: async () => [],
    remove: async () => {},
  };
}

const quiet = () => {};
const noJitter = () => 0;

describe('deliverDeadLetter', () => {
  it('hands the etcd sink’s entry to the marker’s commit', async () => {
    // Prepare
    const commits: unknown[] = [];
    const sink: DeadLetterSink = {
      kind: 'etcd',
      maxValueBytes: 1024,
      write: (record) => ({ key: `/dlq/${record.modRevision}`, value: JSON.stringify(record) }),
      list: async () => [],
      remove: async () => {},
    };
    // Act
    const outcome = await deliverDeadLetter(input, {
      sink,
      commit: async (entry) => {
        commits.push(entry);
        return 'committed';
      },
      log: quiet,
      signal: new AbortController().signal,
    });
    // Assess
    expect(outcome).toBe('committed');
    expect(commits).toEqual([
      { key: '/dlq/9', value: expect.stringContaining('"errorType":"RecordValidationError"') },
    ]);
  });

  it('sends to a queue that refuses until it accepts, then commits the marker', async () => {
    const sink = sendingSink([new Error('throttled'), new Error('unreachable')]);
    let committed = 0;
    const outcome = await deliverDeadLetter(input, {
      sink,
      commit: async () => {
        committed++;
        return 'committed';
      },
      log: quiet,
      signal: new AbortController().signal,
      random: noJitter,
    });
    expect(outcome).toBe('committed');
    expect(sink.sent).toHaveLength(1);
    expect(committed).toBe(1);
  });

  it('gives up on a fatal failure (a configuration error) without committing', async () => {
    const sink = sendingSink([new ConfigError('deadLetter.queues: no queue for heat-stacks')]);
    const options = {
      sink,
      commit: async () => 'committed' as const,
      log: quiet,
      signal: new AbortController().signal,
    };
    await expect(deliverDeadLetter(input, options)).rejects.toBeInstanceOf(ConfigError);
  });

  it('leaves the record unfinished when the route stops while the queue refuses', async () => {
    const controller = new AbortController();
    const sink = sendingSink([new Error('unreachable')]);
    let committed = false;
    const delivering = deliverDeadLetter(input, {
      sink,
      commit: async () => {
        committed = true;
        return 'committed';
      },
      log: () => controller.abort(),
      signal: controller.signal,
    });
    expect(await delivering).toBe('interrupted');
    expect(committed).toBe(false);
  });
});
