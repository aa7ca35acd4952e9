/**
 * `etcd-bridge dlq list|show|redrive` on the SQS sink, as an operator runs them (child processes),
 * against a real etcd and a real SQS server (fauxqs): list and show leave the messages in the queue,
 * redrive applies a current record, drops a superseded one, and deletes both messages.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeadLetterRecord, type DeadLetterRecord, recordId } from '../../../bridge/dlq/record.js';
import { keyspaceFor, padRevision } from '../../../bridge/keyspace.js';
import { DEFAULT_ROUTES } from '../../../shared/index.js';
import { runCli } from '../../helpers/cli.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../../helpers/etcd.js';
import { FAUXQS_REGION, Fauxqs, fauxqsEnv } from '../../helpers/fauxqs.js';
import { heatStackText } from '../../helpers/records.js';

const heatKey = (id: string) => `/esi-worker/heat_stacks/v2.0/ports/${id}`;
const jobKey = (id: string) => `/esi-worker/job_state/v2.0/ports/${id}`;

describe('etcd-bridge dlq on the SQS sink (fauxqs)', () => {
  const group = 'sqs-cli';
  const keyspace = keyspaceFor(group);
  let fixture: EtcdFixture;
  let sqs: Fauxqs;
  let heatUrl: string;
  let dir: string;
  let configFile: string;

  beforeAll(async () => {
    [fixture, sqs] = await Promise.all([startEtcd(), Fauxqs.start()]);
    heatUrl = await sqs.createQueue('heat-stacks-dlq');
    const jobUrl = await sqs.createQueue('job-state-dlq');
    dir = await mkdtemp(join(tmpdir(), 'cli-sqs-'));
    configFile = join(dir, 'bridge.json');
    await writeFile(
      configFile,
      JSON.stringify({
        etcd: { endpoints: [fixture.etcd.clientUrl] },
        group,
        routes: DEFAULT_ROUTES,
        deadLetter: {
          sink: 'sqs',
          region: FAUXQS_REGION,
          queueUrls: { 'heat-stacks': heatUrl, 'job-state': jobUrl },
        },
      }),
    );
  }, 120_000);
  afterAll(async () => {
    await Promise.all([stopEtcd(fixture), sqs?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  const dlq = (args: string[]) =>
    runCli(['dlq', ...args, '--config', configFile], { env: fauxqsEnv(sqs.endpoint), timeoutMs: 45_000 });

  /** A heat stack record dead-lettered into SQS as the bridge would (marker at its revision, or later). */
  async function deadLetter(id: string, markerAt?: bigint): Promise<DeadLetterRecord> {
    const value = heatStackText({});
    const revision = BigInt((await fixture.client.put(heatKey(id)).value(value).exec()).header.revision);
    await fixture.client
      .put(keyspace.applied('heat-stacks', heatKey(id)))
      .value(padRevision(markerAt ?? revision));
    const record = buildDeadLetterRecord(
      {
        route: 'heat-stacks',
        key: heatKey(id),
        type: 'put',
        modRevision: revision,
        value: Buffer.from(value),
        errorType: 'BrokenFunction',
        errorMessage: 'broken',
        attempts: 2,
        firstAttemptAt: Date.now() - 1000,
        lastAttemptAt: Date.now(),
        bridgeId: 'b-sqs',
      },
      200 * 1024,
    );
    await sqs.client.send(new SendMessageCommand({ QueueUrl: heatUrl, MessageBody: JSON.stringify(record) }));
    return record;
  }

  it('lists, shows and redrives from SQS: applies a current record, drops a superseded one', async () => {
    // Prepare
    const current = await deadLetter('sqs-ok');
    const superseded = await deadLetter('sqs-old', 10_000_000n);

    // list --json and show leave the messages in the queue (visible again at once)
    const list = await dlq(['list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as Array<{ id: string; key: string }>;
    expect(rows.map((r) => r.id).sort()).toEqual([recordId(current), recordId(superseded)].sort());

    const show = await dlq(['show', recordId(current), '--json']);
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout)).toEqual({ id: recordId(current), ...current });

    const human = await dlq(['list']);
    expect(human.stdout).toContain('2 dead-lettered record(s) in the sqs queue');

    // Act
    const redrive = await dlq(['redrive', '--json', '--invoke', 'inprocess']);

    // Assess
    expect(redrive.code, redrive.stderr).toBe(0);
    const summary = JSON.parse(redrive.stdout) as { redriven: number; superseded: number; failed: number };
    expect(summary).toMatchObject({ redriven: 1, superseded: 1, failed: 0 });
    expect(await fixture.client.get(jobKey('sqs-ok')).string()).toContain(
      '"orchestration_state": "CREATE_COMPLETE"',
    );
    expect(await fixture.client.get(jobKey('sqs-old')).string()).toBeNull();
    expect(await fixture.client.get(keyspace.applied('heat-stacks', heatKey('sqs-ok'))).string()).toBe(
      padRevision(current.modRevision),
    );
    const empty = await dlq(['list', '--json']);
    expect(JSON.parse(empty.stdout)).toEqual([]);
  });

  it('commits a record once though the queue holds it twice (SQS sends are at least once)', async () => {
    // Prepare: the same record twice, as a retried send (or a crash after a redrive's commit,
    // before its DeleteMessage) leaves it.
    const record = await deadLetter('sqs-twice');
    await sqs.client.send(new SendMessageCommand({ QueueUrl: heatUrl, MessageBody: JSON.stringify(record) }));
    const before = BigInt((await fixture.client.get('/').exec()).header.revision);

    // Act: a run redrives one copy (a record once a run); the next run meets the other.
    const first = await dlq(['redrive', '--json', '--invoke', 'inprocess']);
    const second = await dlq(['redrive', '--json', '--invoke', 'inprocess']);

    // Assess: one commit of its outputs; the copy dropped as applied; nothing left in the queue.
    expect(JSON.parse(first.stdout), first.stderr).toMatchObject({ redriven: 1, superseded: 0, failed: 0 });
    expect(JSON.parse(second.stdout), second.stderr).toMatchObject({ redriven: 0, superseded: 1, failed: 0 });
    expect(JSON.parse((await dlq(['list', '--json'])).stdout)).toEqual([]);
    const writes = await fixture.client.kv.range({
      key: Buffer.from(jobKey('sqs-twice')),
      revision: '0',
    });
    expect(writes.kvs[0]?.version).toBe('1'); // job_state put once since it was first written
    expect(BigInt(writes.kvs[0]?.mod_revision ?? '0')).toBeGreaterThan(before);
    expect(await fixture.client.get(keyspace.redriven(recordId(record))).string()).not.toBeNull();
  });
});
