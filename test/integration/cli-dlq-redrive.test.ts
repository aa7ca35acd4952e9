/**
 * `etcd-bridge dlq redrive` as the CLI runs (a child process from source) against a real etcd:
 * of three dead-lettered records two go through and one fails again; the run goes on past the
 * failure, prints one line per record with its outcome and, for the failure, its real error, and
 * exits 1. `--json` gives the same outcomes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdDeadLetterSink } from '../../bridge/dlq/etcd-sink.js';
import { buildDeadLetterRecord, type DeadLetterRecord, recordId } from '../../bridge/dlq/record.js';
import { keyspaceFor } from '../../bridge/keyspace.js';
import { runCli } from '../helpers/cli.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { heatStackText } from '../helpers/records.js';

const heatKey = (id: string) => `/esi-worker/heat_stacks/v2.0/ports/${id}`;
const jobKey = (id: string) => `/esi-worker/job_state/v2.0/ports/${id}`;

function deadLetter(id: string, revision: number, value: string, errorType: string): DeadLetterRecord {
  return buildDeadLetterRecord(
    {
      route: 'heat-stacks',
      key: heatKey(id),
      type: 'put',
      modRevision: BigInt(revision),
      value: Buffer.from(value),
      errorType,
      errorMessage: `${errorType} (when it was dead-lettered)`,
      attempts: 6,
      firstAttemptAt: Date.now(),
      lastAttemptAt: Date.now(),
      bridgeId: 'test',
    },
    1024 * 1024,
  );
}

describe('dlq redrive: one of three records fails again', () => {
  const group = 'redrive-cli';
  let fixture: EtcdFixture;
  let sink: EtcdDeadLetterSink;
  let dir: string;
  let config: string;
  // Two the function was down for (they go through now), one it rejects (and rejects again).
  const records = [
    deadLetter('ok-1', 11, heatStackText({}), 'TooManyRequestsException'),
    deadLetter('bad-2', 12, '{"stack_status": "SUSPEND_COMPLETE", "output": []}', 'RejectedStatusError'),
    deadLetter('ok-3', 13, heatStackText({}), 'TooManyRequestsException'),
  ];

  beforeAll(async () => {
    fixture = await startEtcd();
    sink = new EtcdDeadLetterSink(fixture.client, keyspaceFor(group));
    for (const r of records) {
      const { key, value } = sink.write(r);
      await fixture.client.put(key).value(value);
    }
    dir = await mkdtemp(join(tmpdir(), 'dlq-redrive-'));
    config = join(dir, 'bridge.json');
    await writeFile(config, JSON.stringify({ etcd: { endpoints: [fixture.etcd.clientUrl] }, group }));
  });
  afterAll(async () => {
    await stopEtcd(fixture);
    await rm(dir, { recursive: true, force: true });
  });

  it('goes on past the failure, one line per record with its real error, exit 1', async () => {
    const r = await runCli(['dlq', 'redrive', '--route', 'heat-stacks', '--config', config], {
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^redriven\\s+${recordId(records[0]!)} .*1 write\\(s\\) committed`)),
      expect.stringMatching(
        new RegExp(
          `^failed\\s+${recordId(records[1]!)} .*: RejectedStatusError: .*SUSPEND_COMPLETE.* has no worker_state.*\\(attempts 7; still dead-lettered\\)$`,
        ),
      ),
      expect.stringMatching(new RegExp(`^redriven\\s+${recordId(records[2]!)} `)),
      'redrive: 2 redriven, 0 superseded, 1 failed again, 0 skipped',
    ]);
    // The two went through; the third is still in the queue with the new attempt.
    expect(await fixture.client.get(jobKey('ok-1')).string()).toContain(
      '"orchestration_state": "CREATE_COMPLETE"',
    );
    expect(await fixture.client.get(jobKey('ok-3')).string()).toContain(
      '"orchestration_state": "CREATE_COMPLETE"',
    );
    expect(await fixture.client.get(jobKey('bad-2')).string()).toBeNull();
    const left = await sink.list();
    expect(left.map((e) => [recordId(e.record), e.record.attempts, e.record.errorType])).toEqual([
      [recordId(records[1]!), 7, 'RejectedStatusError'],
    ]);
  });

  it('--json: the same outcome for the one left, with its error and verdict', async () => {
    const r = await runCli(['dlq', 'redrive', '--json', '--config', config], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout) as { failed: number; outcomes: Array<Record<string, unknown>> };
    expect(out.failed).toBe(1);
    expect(out.outcomes).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        id: recordId(records[1]!),
        errorType: 'RejectedStatusError',
        error: expect.stringContaining('SUSPEND_COMPLETE'),
        attempts: 8,
      }),
    ]);
  });
});
