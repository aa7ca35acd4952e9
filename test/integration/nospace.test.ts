/**
 * etcd out of space (DESIGN invariant 9): an etcd with a small --quota-backend-bytes, filled until
 * it raises the NOSPACE alarm while records are in flight. The bridge must pause its commits, stay
 * leader, dead-letter nothing for it, and finish every record by itself once the operator has freed
 * space (compact, defragment, `etcdctl alarm disarm`).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Etcd3, GRPCResourceExhastedError } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/bridge.js';
import { EtcdDeadLetterSink } from '../../bridge/dlq/etcd-sink.js';
import { findEtcdctl } from '../../bridge/etcd/find-etcd.js';
import { InProcessInvoker } from '../../bridge/invoke/in-process.js';
import type { LambdaHandler } from '../../bridge/invoke/lambda-context.js';
import { keyspaceFor } from '../../bridge/keyspace.js';
import { type LogFields, type LogLevel, silentLogger } from '../../bridge/log.js';
import { type Observability, startObservability } from '../../bridge/observability/server.js';
import { loadStageHandler } from '../../bridge/stages.js';
import { startBridge } from '../helpers/bridge.js';
import { type EtcdFixture, startEtcd, stopEtcd, testClientOptions } from '../helpers/etcd.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const QUOTA_BYTES = 4 * 1024 * 1024;
const RECORDS = 12;
const heatKey = (i: number) => `/esi-worker/heat_stacks/v2.0/ports/nospace-${i}`;
const stateKey = (i: number) => `/state/v2.0/ports/nospace-${i}`;
const BAD_KEY = '/esi-worker/heat_stacks/v2.0/ports/nospace-bad';
const heatStack = (i: number) =>
  JSON.stringify({
    stack_status: 'CREATE_COMPLETE',
    output: [{ output_key: 'i', output_value: i }],
    status_reason: '',
  });

/** Holds every invocation of heat-stacks until `open()`: records stay in flight while etcd fills up. */
function gatedHeatStacks(): { handler: LambdaHandler; open(): void; waiting(): number } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let waiting = 0;
  const real = loadStageHandler('heat-stacks');
  return {
    handler: async (event, context) => {
      waiting++;
      await gate;
      return (await real)(event, context);
    },
    open,
    waiting: () => waiting,
  };
}

async function etcdctl(fixture: EtcdFixture, ...args: string[]): Promise<string> {
  const { stdout } = await run(await findEtcdctl(), ['--endpoints', fixture.etcd.clientUrl, ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  return stdout;
}

/**
 * Put junk until etcd refuses for space; returns how many keys it took. Its own client: etcd3 counts
 * the refusals against the client's circuit breaker, which would then refuse the test's reads.
 */
async function fillUntilNoSpace(fixture: EtcdFixture): Promise<number> {
  const filler = new Etcd3(testClientOptions(fixture.etcd.clientUrl));
  const junk = 'x'.repeat(256 * 1024);
  try {
    for (let i = 0; i < 1_000; i++) {
      try {
        await filler.put(`/junk/${i}`).value(junk);
      } catch (error) {
        if (error instanceof GRPCResourceExhastedError && /database space exceeded/.test(error.message))
          return i;
        throw error;
      }
    }
  } finally {
    filler.close();
  }
  throw new Error(`etcd never ran out of space (quota ${QUOTA_BYTES} bytes)`);
}

describe('etcd out of space (NOSPACE alarm) while records are in flight', () => {
  let fixture: EtcdFixture;
  let bridge: Bridge;
  const logs: Array<{ level: LogLevel; message: string; fields: LogFields }> = [];
  const gate = gatedHeatStacks();
  let observability: Observability;

  beforeAll(async () => {
    fixture = await startEtcd({ extraArgs: ['--quota-backend-bytes', String(QUOTA_BYTES)] });
    bridge = await startBridge(
      fixture,
      {},
      {
        invoker: new InProcessInvoker(60_000, { 'heat-stacks': gate.handler }),
        logger: { log: (level, message, fields = {}) => logs.push({ level, message, fields }) },
      },
    );
    observability = await startObservability({ port: 0 }, silentLogger);
    observability.attach(bridge);
  });

  afterAll(async () => {
    gate.open();
    await observability?.close();
    await bridge?.stop();
    await stopEtcd(fixture);
  });

  it('pauses commits (nothing dead-lettered, still leader) and finishes every record after the operator frees space', async () => {
    // Prepare: records in flight (held in the function), then etcd full.
    for (let i = 0; i < RECORDS; i++) await fixture.client.put(heatKey(i)).value(heatStack(i));
    await fixture.client.put(BAD_KEY).value('{"stack_status": '); // not JSON: dead-lettered, once etcd has room
    await waitFor('records in the function', async () => (gate.waiting() > 0 ? true : undefined));
    await fillUntilNoSpace(fixture);
    expect(await etcdctl(fixture, 'alarm', 'list')).toMatch(/NOSPACE/);

    // Act: the function answers; every commit meets the alarm.
    gate.open();

    // Assess: paused, not failed.
    await waitFor('commits paused for NOSPACE', async () =>
      bridge.committer.paused?.reason === 'etcd-no-space' ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // several commit retries meanwhile
    const sink = new EtcdDeadLetterSink(fixture.client, keyspaceFor('test'));
    expect(bridge.fatal).toBeUndefined();
    expect(await sink.list()).toEqual([]);
    expect(await fixture.client.get(stateKey(0)).string()).toBeNull();
    const paused = logs.filter((l) => l.message === 'commits paused: etcd refuses writes');
    // Nothing else is told meanwhile (no warning per retry, per batch or per status write); the bad
    // record's own 'dead-lettered' line may come now or after, as its batch goes.
    const told = logs
      .filter((l) => l.level !== 'info' && l.message !== 'dead-lettered')
      .map((l) => l.message);
    expect(told).toEqual(['commits paused: etcd refuses writes']);
    expect(paused).toHaveLength(1); // once per episode, not once per retry
    expect(paused[0]?.fields).toMatchObject({
      reason: 'etcd-no-space',
      action: expect.stringMatching(/alarm disarm/),
    });

    // Act: what the operator does — drop the junk, compact, defragment, disarm.
    await fixture.client.delete().prefix('/junk/');
    const revision = (await fixture.client.get('/junk/').exec()).header.revision;
    await etcdctl(fixture, 'compact', revision);
    await etcdctl(fixture, 'defrag');
    await etcdctl(fixture, 'alarm', 'disarm');

    // Assess: every record done, the bad one dead-lettered (its write waited too), by itself.
    for (let i = 0; i < RECORDS; i++) {
      await waitFor(
        `state of record ${i}`,
        async () => (await fixture.client.get(stateKey(i)).string()) ?? undefined,
      );
    }
    const dead = await waitFor('the bad record dead-lettered', async () => {
      const entries = await sink.list();
      return entries.length > 0 ? entries : undefined;
    });
    expect(dead.map((e) => e.record.key)).toEqual([BAD_KEY]);
    expect(bridge.fatal).toBeUndefined();
    expect(bridge.committer.paused).toBeUndefined();
    expect(bridge.status().map((r) => r.commitsPaused)).toEqual([null, null]);
    expect(await observability.registry.metrics()).not.toContain('etcd_bridge_commits_paused{');
    expect(logs.filter((l) => l.message === 'commits resumed: etcd takes writes again')).toHaveLength(1);
  });
});
