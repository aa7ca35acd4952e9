/**
 * Invariant 4 (fencing) and invariant 1 across a failover: two bridge processes in one group. The
 * leader (lease TTL 2 s) is frozen with SIGSTOP past its lease while records stream in; the other
 * takes over and carries on. Then the new leader is frozen too (briefly, well within its own 15 s
 * lease) and the deposed one is continued with SIGCONT: with the only live leader frozen, any
 * pipeline write etcd records in that window could only be the deposed bridge's, so there must be
 * none, and the deposed bridge must exit with code 3 (leadership lost). At the end the history holds
 * exactly one output per input revision.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_LEADERSHIP_LOST } from '../../../bridge/cli/start.js';
import { keyspaceFor } from '../../../bridge/keyspace.js';
import { BridgeProcess, killAllBridgeProcesses } from '../../helpers/bridge-process.js';
import { currentRevision, type EtcdFixture, history, startEtcd, stopEtcd } from '../../helpers/etcd.js';
import { checkPipeline, makeWorkload, sleep, waitForPipeline, writeRecords } from '../../helpers/workload.js';

const SEED = Number(process.env.FAULT_SEED ?? 5150);
const GROUP = 'failover';

describe('leader frozen past its lease while another bridge waits', () => {
  let fixture: EtcdFixture;

  beforeAll(async () => {
    fixture = await startEtcd();
  });

  afterAll(async () => {
    await killAllBridgeProcesses();
    await stopEtcd(fixture);
  });

  it('the other bridge takes over; the deposed one commits nothing and exits 3', async () => {
    // Prepare
    const { client, etcd } = fixture;
    const records = makeWorkload({ records: 3_000, keys: 150, seed: SEED });
    const spawn = (name: string, leaseTtlSeconds: number) =>
      BridgeProcess.spawn({
        etcd: etcd.clientUrl,
        group: GROUP,
        startPosition: 'earliest',
        config: { leaseTtlSeconds, checkpointFlushMs: 100 },
        name,
      });
    const first = spawn('first', 2);
    await first.waitForLeader();
    const second = spawn('second', 15);
    await second.waitForLine(/"message":"campaigning for leadership"/);

    // Act
    let written = 0;
    const writing = writeRecords(client, records, {
      perSecond: 250,
      onWritten: (n) => {
        written = n;
      },
    });
    while (written < 600) await sleep(10);
    first.signal('SIGSTOP');
    const frozenAt = Date.now();
    await second.waitForLeader(15_000);
    const takeoverMs = Date.now() - frozenAt;
    while (written < 1_600) await sleep(10);

    // Only the deposed bridge can run now: whatever the pipeline writes in this window is its doing.
    second.signal('SIGSTOP');
    await sleep(300);
    const windowFrom = await currentRevision(client);
    first.signal('SIGCONT');
    const firstExit = await first.waitForExit(6_000);
    await sleep(300);
    const windowTo = await currentRevision(client);
    second.signal('SIGCONT');

    const writes = await writing;
    const drained = await waitForPipeline(client, records, { timeoutMs: 30_000 });
    const secondOutput = second.output();
    const secondExit = await second.stop();

    // Assess
    const events = await history(client, '/', 30_000);
    const bookkeeping = keyspaceFor(GROUP);
    const inWindow = events.filter(
      (e) =>
        e.modRevision > windowFrom &&
        e.modRevision <= windowTo &&
        (e.key.startsWith('/esi-worker/job_state/') ||
          e.key.startsWith('/state/') ||
          e.key.startsWith(`${bookkeeping.root}applied/`) ||
          e.key.startsWith(`${bookkeeping.root}checkpoint/`) ||
          e.key.startsWith(`${bookkeeping.root}dlq/`)),
    );
    expect(inWindow.map((e) => `${e.type} ${e.key}@${e.modRevision}`)).toEqual([]);
    expect(firstExit, first.output()).toEqual({ code: EXIT_LEADERSHIP_LOST, signal: null });
    expect(takeoverMs).toBeLessThan(10_000);
    const report = checkPipeline(events, { group: GROUP });
    expect(report.problems).toEqual([]);
    expect(drained, secondOutput).toMatchObject({ done: true });
    expect(secondExit, second.output()).toEqual({ code: 0, signal: null });
    expect(writes.retried).toBe(0);
    expect(report.heatPuts).toBe(records.length);
    expect(report.jobStatePuts).toBe(records.length);
    expect(report.statePuts).toBe(records.length);
    // The heat stack writes went on in the window, so the deposed bridge had work it was not allowed to do.
    expect(events.some((e) => e.modRevision > windowFrom && e.modRevision <= windowTo)).toBe(true);
  });
});
