/**
 * `dlq redrive --id X` redrives "only this record" (X a full id or a unique `<route>/<revision>`),
 * as `dlq show` and `dlq delete` take X: an X that names several records (a bare route, or a
 * revision that one transaction wrote two keys at) is refused, and nothing is redriven.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, runDlq } from '../../bridge/cli/dlq.js';
import { EtcdDeadLetterSink } from '../../bridge/dlq/etcd-sink.js';
import { buildDeadLetterRecord, type DeadLetterRecord, recordId } from '../../bridge/dlq/record.js';
import { keyspaceFor } from '../../bridge/keyspace.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { heatStackText } from '../helpers/records.js';

const heatKey = (id: string) => `/esi-worker/heat_stacks/v2.0/ports/${id}`;
const jobKey = (id: string) => `/esi-worker/job_state/v2.0/ports/${id}`;

function deadLetter(id: string, revision: number): DeadLetterRecord {
  return buildDeadLetterRecord(
    {
      route: 'heat-stacks',
      key: heatKey(id),
      type: 'put',
      modRevision: BigInt(revision),
      value: Buffer.from(heatStackText({})),
      errorType: 'TooManyRequestsException',
      errorMessage: 'throttled',
      attempts: 6,
      firstAttemptAt: Date.now(),
      lastAttemptAt: Date.now(),
      bridgeId: 'test',
    },
    1024 * 1024,
  );
}

function memoryIo(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (text: string) => {
      io.stdout += text;
    },
    err: (text: string) => {
      io.stderr += text;
    },
    progress: () => ({ update: () => {}, done: () => {} }),
  };
  return io;
}

describe('dlq redrive --id names one record', () => {
  const group = 'redrive-id';
  let fixture: EtcdFixture;
  let sink: EtcdDeadLetterSink;
  let dir: string;
  let config: string;
  // Two keys one transaction wrote (the same revision), and a third record.
  const records = [deadLetter('a', 21), deadLetter('b', 21), deadLetter('c', 22)];

  beforeAll(async () => {
    fixture = await startEtcd();
    sink = new EtcdDeadLetterSink(fixture.client, keyspaceFor(group));
    for (const r of records) {
      const { key, value } = sink.write(r);
      await fixture.client.put(key).value(value);
    }
    dir = await mkdtemp(join(tmpdir(), 'dlq-redrive-id-'));
    config = join(dir, 'bridge.json');
    await writeFile(config, JSON.stringify({ etcd: { endpoints: [fixture.etcd.clientUrl] }, group }));
  });
  afterAll(async () => {
    await stopEtcd(fixture);
    await rm(dir, { recursive: true, force: true });
  });
  const left = async () => (await sink.list()).map((e) => recordId(e.record));

  it('a bare route as --id is refused, like dlq show refuses it; nothing is redriven', async () => {
    const io = memoryIo();
    const code = await runDlq(['redrive', '--id', 'heat-stacks', '--config', config], { io });
    expect(code).toBe(1);
    expect(io.stderr).toContain('names 3 records');
    expect(await left()).toEqual(records.map(recordId));
    expect(await fixture.client.get(jobKey('c')).string()).toBeNull();
  });

  it('an ambiguous <route>/<revision> is refused; nothing is redriven', async () => {
    const io = memoryIo();
    const code = await runDlq(['redrive', '--id', 'heat-stacks/21', '--config', config], { io });
    expect(code).toBe(1);
    expect(io.stderr).toContain('names 2 records');
    expect(await left()).toEqual(records.map(recordId));
    expect(await fixture.client.get(jobKey('a')).string()).toBeNull();
  });

  it('a unique <route>/<revision> redrives that one record', async () => {
    const io = memoryIo();
    const code = await runDlq(['redrive', '--id', 'heat-stacks/22', '--config', config], { io });
    expect(code, io.stderr).toBe(0);
    expect(io.stdout).toContain('redrive: 1 redriven, 0 superseded, 0 failed again, 0 skipped');
    expect(await left()).toEqual([recordId(records[0]!), recordId(records[1]!)]);
    expect(await fixture.client.get(jobKey('c')).string()).not.toBeNull();
  });
});
