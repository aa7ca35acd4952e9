/**
 * `etcd-bridge dlq delete <id>` and `dlq purge --route R` on both sinks: the etcd prefix (real
 * etcd) and SQS (a real SQS-protocol server, fauxqs), run as the CLI runs (a child process from
 * source), plus the terminal confirmation in-process. And `dlq redrive --id X`, which redrives
 * "only this record" as `dlq show` and `dlq delete` take X: an X that names several records (a bare
 * route, or a revision that one transaction wrote two keys at) is refused, and nothing is redriven.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, runDlq } from '../../bridge/cli/dlq.js';
import { EtcdDeadLetterSink } from '../../bridge/dlq/etcd-sink.js';
import { buildDeadLetterRecord, type DeadLetterRecord, recordId } from '../../bridge/dlq/record.js';
import { SqsDeadLetterSink } from '../../bridge/dlq/sqs-sink.js';
import { keyspaceFor } from '../../bridge/keyspace.js';
import { runCli } from '../helpers/cli.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { Fauxqs, fauxqsEnv } from '../helpers/fauxqs.js';
import { heatStackText } from '../helpers/records.js';

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { env, timeoutMs: 45_000 });

/** A dead-lettered record; its value by default a heat stack whose status no rule handles. */
function record(
  route: string,
  id: string,
  revision: number,
  value = '{"stack_status": "SUSPEND_COMPLETE"}',
): DeadLetterRecord {
  const collection = route === 'heat-stacks' ? 'heat_stacks' : 'job_state';
  return buildDeadLetterRecord(
    {
      route,
      key: `/esi-worker/${collection}/v2.0/ports/${id}`,
      type: 'put',
      modRevision: BigInt(revision),
      value: Buffer.from(value),
      errorType: 'RecordValidationError',
      errorMessage: 'stack_status SUSPEND_COMPLETE is not handled',
      attempts: 1,
      firstAttemptAt: Date.now(),
      lastAttemptAt: Date.now(),
      bridgeId: 'test',
    },
    1024 * 1024,
  );
}

const jobKey = (id: string) => `/esi-worker/job_state/v2.0/ports/${id}`;

/** A fresh etcd holding these records in `group`'s etcd sink, and a config file naming both. */
async function etcdSinkWith(group: string, records: readonly DeadLetterRecord[]) {
  const fixture = await startEtcd();
  const sink = new EtcdDeadLetterSink(fixture.client, keyspaceFor(group));
  for (const r of records) {
    const { key, value } = sink.write(r);
    await fixture.client.put(key).value(value);
  }
  const dir = await mkdtemp(join(tmpdir(), `dlq-${group}-`));
  const config = join(dir, 'bridge.json');
  await writeFile(config, JSON.stringify({ etcd: { endpoints: [fixture.etcd.clientUrl] }, group }));
  const close = async () => {
    await stopEtcd(fixture);
    await rm(dir, { recursive: true, force: true });
  };
  return { fixture, sink, config, close };
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

describe('dlq delete and purge on the etcd sink', () => {
  const group = 'manage';
  let sink: EtcdDeadLetterSink;
  let config: string;
  const records = [
    record('heat-stacks', 'a', 11),
    record('heat-stacks', 'b', 12),
    record('heat-stacks', 'c', 13),
    record('job-state', 'd', 14),
  ];

  let closeSink: () => Promise<void>;
  beforeAll(async () => {
    ({ sink, config, close: closeSink } = await etcdSinkWith(group, records));
  });
  afterAll(() => closeSink?.());

  const ids = async () => (await sink.list()).map((e) => recordId(e.record));

  it('delete without --yes and without a terminal refuses (exit 2) and drops nothing', async () => {
    const r = await cli(['dlq', 'delete', 'heat-stacks/11', '--config', config]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('--yes');
    expect(await ids()).toHaveLength(4);
  });

  it('delete <route>/<revision> --yes drops that record only; --json says which', async () => {
    const r = await cli(['dlq', 'delete', 'heat-stacks/11', '--yes', '--json', '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ deleted: [recordId(records[0]!)], queue: 'etcd' });
    expect(await ids()).toEqual(records.slice(1).map(recordId));
    const again = await cli(['dlq', 'delete', recordId(records[0]!), '--yes', '--config', config]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no dead-lettered record ${recordId(records[0]!)}`);
  });

  it('on a terminal, delete asks; "no" drops nothing, "yes" drops it', async () => {
    const asked: string[] = [];
    const no = memoryIo();
    const refused = await runDlq(['delete', 'heat-stacks/12', '--config', config], {
      io: no,
      confirm: async (question) => {
        asked.push(question);
        return false;
      },
    });
    expect(refused).toBe(1);
    expect(asked[0]).toContain(records[1]!.key);
    expect(await ids()).toContain(recordId(records[1]!));
    const yes = memoryIo();
    const accepted = await runDlq(['delete', 'heat-stacks/12', '--config', config], {
      io: yes,
      confirm: async () => true,
    });
    expect(accepted).toBe(0);
    expect(yes.stdout).toContain(`deleted ${recordId(records[1]!)}`);
    expect(await ids()).not.toContain(recordId(records[1]!));
  });

  it('purge --route drops every record of that route and no other; --route is required', async () => {
    const missing = await cli(['dlq', 'purge', '--yes', '--config', config]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--route');
    const r = await cli(['dlq', 'purge', '--route', 'heat-stacks', '--yes', '--json', '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ route: 'heat-stacks', purged: 1, queue: 'etcd' });
    expect(await ids()).toEqual([recordId(records[3]!)]);
    const text = await cli(['dlq', 'purge', '--route', 'heat-stacks', '--yes', '--config', config]);
    expect(text.stdout).toContain('route heat-stacks: the dead-letter queue is empty');
  });
});

describe('dlq delete and purge on the SQS sink (fauxqs)', () => {
  let fauxqs: Fauxqs;
  let fixture: EtcdFixture;
  let env: NodeJS.ProcessEnv;
  let sink: SqsDeadLetterSink;
  const records = [
    record('heat-stacks', 'e', 21),
    record('heat-stacks', 'f', 22),
    record('job-state', 'g', 23),
  ];

  beforeAll(async () => {
    [fauxqs, fixture] = await Promise.all([Fauxqs.start(), startEtcd()]);
    const urls = {
      'heat-stacks': await fauxqs.createQueue('heat-stacks-dlq'),
      'job-state': await fauxqs.createQueue('job-state-dlq'),
    };
    sink = new SqsDeadLetterSink(fauxqs.client, urls, { receiveWaitSeconds: 0 });
    for (const r of records) await sink.send(r);
    env = {
      ...fauxqsEnv(fauxqs.endpoint),
      ETCD_ENDPOINTS: fixture.etcd.clientUrl,
      HEAT_STACKS_DLQ_URL: urls['heat-stacks'],
      JOB_STATE_DLQ_URL: urls['job-state'],
    };
  }, 60_000);
  afterAll(async () => {
    await fauxqs?.stop();
    await stopEtcd(fixture);
  });

  const listIds = async () => {
    const entries = await sink.list();
    await sink.release(entries);
    return entries.map((e) => recordId(e.record)).sort();
  };

  it('delete <id> --yes drops that message; the others stay visible', async () => {
    const r = await cli(['dlq', 'delete', recordId(records[0]!), '--yes', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ deleted: [recordId(records[0]!)], queue: 'sqs' });
    expect(await listIds()).toEqual([recordId(records[1]!), recordId(records[2]!)].sort());
  });

  it('purge --route empties that queue only', async () => {
    const r = await cli(['dlq', 'purge', '--route', 'heat-stacks', '--yes'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'route heat-stacks: purged about 1 dead-lettered record(s) from the sqs queue',
    );
    expect(await listIds()).toEqual([recordId(records[2]!)]);
  });
});

describe('entries that are not dead-letter records', () => {
  // Written by hand, by another tool, or by Lambda into the queue it was given as its own
  // dead-letter target: listings skip them and say so; the other records stay reachable.
  let fixture: EtcdFixture;
  let fauxqs: Fauxqs;
  let dir: string;
  let config: string;
  const group = 'unreadable';
  const good = record('heat-stacks', 'h', 31);

  beforeAll(async () => {
    [fauxqs, fixture] = await Promise.all([Fauxqs.start(), startEtcd()]);
    const sink = new EtcdDeadLetterSink(fixture.client, keyspaceFor(group));
    const { key, value } = sink.write(good);
    await fixture.client.put(key).value(value);
    await fixture.client.put(keyspaceFor(group).dlq('heat-stacks', '12', 'garbage')).value('oops');
    dir = await mkdtemp(join(tmpdir(), 'dlq-unreadable-'));
    config = join(dir, 'bridge.json');
    await writeFile(config, JSON.stringify({ etcd: { endpoints: [fixture.etcd.clientUrl] }, group }));
  }, 60_000);
  afterAll(async () => {
    await fauxqs?.stop();
    await stopEtcd(fixture);
    await rm(dir, { recursive: true, force: true });
  });

  it('etcd: list and show go on past it; delete removes it by the id the listing gave', async () => {
    const listed = await cli(['dlq', 'list', '--config', config]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(recordId(good));
    expect(listed.stderr).toContain('skipped heat-stacks/12/garbage: not JSON');
    const shown = await cli(['dlq', 'show', recordId(good), '--config', config]);
    expect(shown.code, shown.stderr).toBe(0);
    const deleted = await cli(['dlq', 'delete', 'heat-stacks/12/garbage', '--yes', '--config', config]);
    expect(deleted.code, deleted.stderr).toBe(0);
    const after = await cli(['dlq', 'list', '--config', config]);
    expect(after.stderr).not.toContain('skipped');
    expect(after.stdout).toContain('1 dead-lettered record(s)');
  });

  it('SQS: list goes on past it and hands the message back (visible again); delete removes it by the id the listing gave', async () => {
    const url = await fauxqs.createQueue('unreadable-heat-stacks-dlq');
    const jobUrl = await fauxqs.createQueue('unreadable-job-state-dlq');
    const sink = new SqsDeadLetterSink(
      fauxqs.client,
      { 'heat-stacks': url, 'job-state': jobUrl },
      {
        receiveWaitSeconds: 0,
      },
    );
    await sink.send(good);
    const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
    await fauxqs.client.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: '{"requestContext": {}}' }),
    );
    const env = {
      ...fauxqsEnv(fauxqs.endpoint),
      ETCD_ENDPOINTS: fixture.etcd.clientUrl,
      HEAT_STACKS_DLQ_URL: url,
      JOB_STATE_DLQ_URL: jobUrl,
    };
    const listed = await cli(['dlq', 'list'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(recordId(good));
    expect(listed.stderr).toMatch(/skipped heat-stacks\/\S+: not a dead-letter record/);
    // Both messages visible again at once: the next listing finds the record and skips the other.
    const again = await cli(['dlq', 'list'], env);
    expect(again.stdout).toContain('1 dead-lettered record(s) in the sqs queue');
    expect(again.stderr).toContain('skipped');
    // Delete by the id the listing told: that message goes, the record stays (and stays visible).
    const id = /skipped (heat-stacks\/\S+):/.exec(listed.stderr)?.[1];
    expect(id).toBeDefined();
    const deleted = await cli(['dlq', 'delete', id!, '--yes'], env);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain(`deleted ${id}`);
    const after = await cli(['dlq', 'list'], env);
    expect(after.stdout).toContain('1 dead-lettered record(s) in the sqs queue');
    expect(after.stderr).not.toContain('skipped');
    // The record's message id does not name an unreadable entry: delete by it finds nothing.
    const { ReceiveMessageCommand } = await import('@aws-sdk/client-sqs');
    const peek = await fauxqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
    );
    const recordMessage = peek.Messages?.[0]?.MessageId;
    expect(await sink.deleteEntry(`heat-stacks/${recordMessage}`)).toBe(false);
    expect(await sink.count('heat-stacks')).toBe(1);
  });
});

describe('dlq redrive --id names one record', () => {
  const group = 'redrive-id';
  let fixture: EtcdFixture;
  let sink: EtcdDeadLetterSink;
  let config: string;
  // Two keys one transaction wrote (the same revision), and a third record.
  const valid = heatStackText({});
  const records = [
    record('heat-stacks', 'a', 21, valid),
    record('heat-stacks', 'b', 21, valid),
    record('heat-stacks', 'c', 22, valid),
  ];

  let closeSink: () => Promise<void>;
  beforeAll(async () => {
    ({ fixture, sink, config, close: closeSink } = await etcdSinkWith(group, records));
  });
  afterAll(() => closeSink?.());
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
