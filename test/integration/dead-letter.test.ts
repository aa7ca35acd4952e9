/**
 * Terminal failures (DESIGN §4 invariant 7, §7) on a real etcd: a poison record goes to the
 * dead-letter queue whole while its neighbours flow; `onFailure: block` holds its key instead; a redrive
 * goes on after a record fails again and reports its real cause. The SQS sink, against a real SQS server, is in
 * test/integration/dlq/.
 */
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/bridge.js';
import { parseBridgeConfig } from '../../bridge/config.js';
import { EtcdDeadLetterSink } from '../../bridge/dlq/etcd-sink.js';
import { buildDeadLetterRecord, DeadLetterRecordSchema } from '../../bridge/dlq/record.js';
import { redrive } from '../../bridge/dlq/redrive.js';
import { InProcessInvoker } from '../../bridge/invoke/in-process.js';
import { keyspaceFor, padRevision } from '../../bridge/keyspace.js';
import { DEFAULT_ROUTES, type RouteInput } from '../../shared/index.js';
import { startBridge } from '../helpers/bridge.js';
import { type EtcdFixture, history, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { heatStackText } from '../helpers/records.js';
import { waitFor } from '../helpers/wait.js';

const heatKey = (id: string) => `/esi-worker/heat_stacks/v2.0/ports/${id}`;
const jobKey = (id: string) => `/esi-worker/job_state/v2.0/ports/${id}`;
const stateKey = (id: string) => `/state/v2.0/ports/${id}`;
const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');
const BAD_JSON = '{\n    "stack_status": "CREATE_COMPLETE", \n    "output": [';

describe('dead-letter queue on a real etcd', () => {
  let fixture: EtcdFixture;
  let bridge: Bridge | undefined;

  beforeAll(async () => {
    fixture = await startEtcd();
  });
  afterEach(async () => {
    await bridge?.stop();
    bridge = undefined;
  });
  afterAll(async () => {
    await stopEtcd(fixture);
  });

  async function put(key: string, value: string): Promise<bigint> {
    return BigInt((await fixture.client.put(key).value(value).exec()).header.revision);
  }
  const read = (key: string) => fixture.client.get(key).string();

  it('dead-letters a poison record whole, while other keys and the next revision of its key flow', async () => {
    // Prepare
    const group = 'poison';
    const started = Date.now();
    bridge = await startBridge(fixture, { group });
    const sink = new EtcdDeadLetterSink(fixture.client, keyspaceFor(group));

    // Act: a heat stack that is not JSON, between a neighbour and the next (good) revision of its key
    const poison = await put(heatKey('poison-a'), BAD_JSON);
    await put(heatKey('neighbour-b'), heatStackText({}));
    const fixed = await put(heatKey('poison-a'), heatStackText({ stack_status: 'UPDATE_COMPLETE' }));

    // Assess: both keys reach their state record; the poison key's comes from its next revision
    const neighbourState = await waitFor(
      'the neighbour state record',
      async () => (await read(stateKey('neighbour-b'))) ?? undefined,
    );
    expect(neighbourState).toContain('"worker_state": "CREATE_COMPLETED"');
    const poisonState = await waitFor(
      'the state record of the poison key',
      async () => (await read(stateKey('poison-a'))) ?? undefined,
    );
    expect(poisonState).toContain('"worker_state": "MODIFY_COMPLETED"');

    const entries = await waitFor('the dead-letter entry', async () => {
      const listed = await sink.list();
      return listed.length > 0 ? listed : undefined;
    });
    expect(entries).toHaveLength(1);
    const entry = entries[0]!;
    expect(entry.id).toBe(
      keyspaceFor(group).dlq(
        'heat-stacks',
        poison.toString(),
        Buffer.from(heatKey('poison-a')).toString('base64url'),
      ),
    );
    const record = DeadLetterRecordSchema.parse(entry.record);
    expect(record).toMatchObject({
      route: 'heat-stacks',
      key: heatKey('poison-a'),
      type: 'put',
      modRevision: poison.toString(),
      value: BAD_JSON,
      valueEncoding: 'utf8',
      valueSize: Buffer.byteLength(BAD_JSON),
      valueSha256: sha256(BAD_JSON),
      errorType: 'RecordValidationError',
      attempts: 1, // terminal: a bad record is not retried
      bridgeId: bridge.bridgeId,
    });
    expect(record.errorMessage).toContain(heatKey('poison-a'));
    expect(record.errorMessage).toContain('terminal error');
    const times = [record.firstAttemptAt, record.lastAttemptAt, record.deadLetteredAt].map(Date.parse);
    expect(times[0]).toBeGreaterThanOrEqual(started);
    expect(times[0]).toBeLessThanOrEqual(times[1]!);
    expect(times[1]).toBeLessThanOrEqual(times[2]!);
    expect(times[2]).toBeLessThanOrEqual(Date.now());

    // Nothing was written for the poison revision: the only job_state put for the key is the fixed one's.
    const jobWrites = (await history(fixture.client, jobKey('poison-a'))).filter(
      (e) => e.key === jobKey('poison-a'),
    );
    expect(jobWrites.filter((e) => e.type === 'put')).toHaveLength(1);
    expect(jobWrites[0]?.value).toContain('"orchestration_state": "UPDATE_COMPLETE"');
    // The marker says the fixed revision is applied; the route counts one dead letter, no retry.
    expect(await read(keyspaceFor(group).applied('heat-stacks', heatKey('poison-a')))).toBe(
      padRevision(fixed),
    );
    const stats = bridge.status().find((s) => s.route === 'heat-stacks')!.stats;
    expect(stats).toMatchObject({ deadLettered: 1, retries: 0 });
  });

  it('dead-letters a value that is not UTF-8 as base64, without invoking the function', async () => {
    const group = 'not-utf8';
    bridge = await startBridge(fixture, { group });
    const sink = new EtcdDeadLetterSink(fixture.client, keyspaceFor(group));
    const bytes = Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]);
    const revision = BigInt(
      (await fixture.client.put(heatKey('latin-c')).value(bytes).exec()).header.revision,
    );

    const [entry] = await waitFor('the dead-letter entry', async () => {
      const listed = await sink.list('heat-stacks');
      return listed.length > 0 ? listed : undefined;
    });
    expect(entry?.record).toMatchObject({
      modRevision: revision.toString(),
      value: bytes.toString('base64'),
      valueEncoding: 'base64',
      valueSize: bytes.length,
      valueSha256: sha256(bytes),
      errorType: 'RecordValidationError',
    });
    expect(await read(jobKey('latin-c'))).toBeNull();
  });

  it('with onFailure: block, holds the failing key (its later revisions too) while other keys flow', async () => {
    // Prepare: only the heat-stacks route, blocking, with quick retries
    const group = 'block';
    const route: RouteInput = {
      ...DEFAULT_ROUTES[0]!,
      onFailure: 'block',
      retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 40 },
    };
    bridge = await startBridge(fixture, { group, routes: [route] });
    const sink = new EtcdDeadLetterSink(fixture.client, keyspaceFor(group));

    // Act
    await put(heatKey('blocked-d'), BAD_JSON);
    await put(heatKey('blocked-d'), heatStackText({}));
    await put(heatKey('free-e'), heatStackText({}));
    await put(heatKey('free-f'), heatStackText({ stack_status: 'DELETE_COMPLETE' }));

    // Assess: the other keys flow
    await waitFor('free-e job_state', async () => (await read(jobKey('free-e'))) ?? undefined);
    await waitFor('free-f job_state', async () => (await read(jobKey('free-f'))) ?? undefined);
    // ... and the blocked key stays blocked (retried every second at most) without anything written or dead-lettered
    const worker = bridge.route('heat-stacks')!;
    await waitFor('the key blocked', () => worker.stats.blocked === 1);
    const retries = worker.stats.retries;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(worker.stats.blocked).toBe(1); // one blocked record, however often it is retried
    expect(worker.stats.retries).toBe(retries); // blocked retries are not backoff retries
    expect(await read(jobKey('blocked-d'))).toBeNull();
    expect(await sink.list()).toEqual([]);
    expect(worker.stats.deadLettered).toBe(0);
    expect(worker.held).toBe(2); // the poison revision and the good one behind it
    expect(await read(keyspaceFor(group).applied('heat-stacks', heatKey('blocked-d')))).toBeNull();
  });
});

describe('redrive on a real etcd', () => {
  let fixture: EtcdFixture;

  beforeAll(async () => {
    fixture = await startEtcd();
  });
  afterAll(async () => {
    await stopEtcd(fixture);
  });

  it('goes on after a record fails again, and reports its real, classified cause', async () => {
    // Prepare: three dead-lettered heat stacks; the middle one's job_state is too large for etcd.
    const keyspace = keyspaceFor('redrive');
    const sink = new EtcdDeadLetterSink(fixture.client, keyspace);
    const outputs = Array.from({ length: 24_000 }, (_, i) => ({ output_key: `k${i}`, output_value: i }));
    const values: Record<string, string> = {
      'redrive-a': heatStackText({ stack_status: 'CREATE_COMPLETE' }),
      'redrive-b': JSON.stringify({ stack_status: 'CREATE_COMPLETE', output: outputs, status_reason: 'ok' }),
      'redrive-c': heatStackText({ stack_status: 'UPDATE_COMPLETE' }),
    };
    for (const [id, value] of Object.entries(values)) {
      const revision = (await fixture.client.put(heatKey(id)).value(value).exec()).header.revision;
      const record = buildDeadLetterRecord(
        {
          route: 'heat-stacks',
          key: heatKey(id),
          type: 'put',
          modRevision: BigInt(revision),
          value: Buffer.from(value),
          errorType: 'Unhandled',
          errorMessage: 'the function was down',
          attempts: 6,
          firstAttemptAt: Date.now(),
          lastAttemptAt: Date.now(),
          bridgeId: 'test',
        },
        sink.maxValueBytes,
      );
      const entry = sink.write(record);
      await fixture.client.put(entry.key).value(entry.value);
    }

    // Act
    const outcomes = await redrive({
      client: fixture.client,
      keyspace,
      queue: sink,
      invoker: new InProcessInvoker(),
      routes: parseBridgeConfig({ etcd: { endpoints: [fixture.etcd.clientUrl] } }).routes,
    });

    // Assess: one outcome per record, in order; the failure is etcd's refusal, not a breaker's.
    expect(outcomes.map((o) => [o.record.key, o.kind])).toEqual([
      [heatKey('redrive-a'), 'redriven'],
      [heatKey('redrive-b'), 'failed'],
      [heatKey('redrive-c'), 'redriven'],
    ]);
    const failed = outcomes[1];
    if (failed?.kind !== 'failed') throw new Error('expected the middle record to fail again');
    expect(failed.failure).toMatchObject({
      errorType: 'CommitRejectedError',
      verdict: 'terminal',
      reason: 'etcd-request-too-large',
      message: expect.stringMatching(/request is too large|larger than max/),
    });
    expect(failed.failure.message).not.toMatch(/circuit breaker/);
    expect(failed.updateFailure).toBeUndefined();
    expect(await fixture.client.get(jobKey('redrive-a')).string()).not.toBeNull();
    expect(await fixture.client.get(jobKey('redrive-c')).string()).not.toBeNull();
    expect(await fixture.client.get(jobKey('redrive-b')).string()).toBeNull();
    const left = await sink.list();
    expect(left.map((e) => e.record.key)).toEqual([heatKey('redrive-b')]);
    expect(left[0]?.record).toMatchObject({ attempts: 7, errorType: 'CommitRejectedError' });
  });
});
