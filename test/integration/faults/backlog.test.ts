/**
 * Invariant 6 (bounded memory): a backlog of 100k heat stack records over 1,000 keys is in etcd
 * before the bridge starts. A child bridge with maxInFlight 2,000 drains it; its resident memory,
 * sampled from /proc while it works, must stay bounded (the watch is paused and resumed from its own
 * revision, never buffered) under the V8 heap settings the bridge runs with (bin/v8-flags.js). Every
 * record must be handled: judged from etcd's history like the other fault tests.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BRIDGE_ENV, BRIDGE_V8_FLAGS, bridgeNodeOptions } from '../../../bin/v8-flags.js';
import { BridgeProcess, killAllBridgeProcesses } from '../../helpers/bridge-process.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../../helpers/etcd.js';
import {
  checkPipeline,
  historyFrom,
  makeWorkload,
  waitForPipeline,
  writeBatched,
} from '../../helpers/workload.js';

const SEED = Number(process.env.FAULT_SEED ?? 1234);
const GROUP = 'backlog';
const RECORDS = Number(process.env.BACKLOG_RECORDS ?? 100_000);
const KEYS = 1_000;
// Peaks measured through this backlog with the bin's heap settings: ~117 MB on Node 20, ~159 MB on Node 24
// (V8's defaults: ~255 and ~400 MB). The bound leaves room for a busy machine, not for the defaults.
const MAX_RSS_BYTES = 200 * 1024 * 1024;
// The bin re-executes itself with its heap flags where Node has process.execve (22.15+, 24: the image's
// Node); on an older Node the test gives them as NODE_OPTIONS, as the README tells a user to.
const SELF_EXEC = typeof (process as { execve?: unknown }).execve === 'function';
// To measure other settings: BACKLOG_NODE_OPTIONS is given to the bridge (its flags win over the bin's).
const MEASURE_OPTIONS = process.env.BACKLOG_NODE_OPTIONS;

describe('a 100k-record backlog drained by a fresh bridge', () => {
  let fixture: EtcdFixture;

  beforeAll(async () => {
    // The test reads the whole store back at the end: etcd sends up to 1,000 revisions (here up to
    // 128k events) in one watch response, far over gRPC's default 4 MB receive limit.
    fixture = await startEtcd({ client: { grpcOptions: { 'grpc.max_receive_message_length': -1 } } });
  });

  afterAll(async () => {
    await killAllBridgeProcesses();
    await stopEtcd(fixture);
  });

  it('stays within bounded memory and handles every record exactly once', async () => {
    // Prepare: the whole backlog, in transactions of 128 puts, before any bridge runs.
    const { client } = fixture;
    const records = makeWorkload({ records: RECORDS, keys: KEYS, seed: SEED, order: 'rounds' });
    const writeStarted = Date.now();
    await writeBatched(client, records, 128);
    const writeMs = Date.now() - writeStarted;

    // Act
    const bridge = BridgeProcess.spawn({
      etcd: fixture.etcd.clientUrl,
      group: GROUP,
      startPosition: 'earliest',
      config: { maxInFlight: 2_000, checkpointFlushMs: 200 },
      ...(MEASURE_OPTIONS !== undefined
        ? { env: { NODE_OPTIONS: MEASURE_OPTIONS } }
        : SELF_EXEC
          ? {}
          : { env: { NODE_OPTIONS: bridgeNodeOptions(), ...BRIDGE_ENV } }),
    });
    await bridge.waitForLeader();
    if (SELF_EXEC && MEASURE_OPTIONS === undefined) {
      // Same pid, new command line: the bridge runs with the flags it gave itself.
      const cmdline = readFileSync(`/proc/${bridge.pid}/cmdline`, 'utf8').split('\0');
      for (const [name, value] of Object.entries(BRIDGE_V8_FLAGS))
        expect(cmdline).toContain(`${name}=${value}`);
      const environ = readFileSync(`/proc/${bridge.pid}/environ`, 'utf8').split('\0');
      for (const [name, value] of Object.entries(BRIDGE_ENV)) expect(environ).toContain(`${name}=${value}`);
    }
    const drainStarted = Date.now();
    let peakRss = 0;
    const samples: number[] = [];
    const sampler = setInterval(() => {
      const rss = bridge.rssBytes();
      if (rss === undefined) return;
      samples.push(rss);
      peakRss = Math.max(peakRss, rss);
    }, 100);
    const mb = (bytes: number | undefined) => `${((bytes ?? 0) / 2 ** 20).toFixed(0)}`;
    const drained = await waitForPipeline(client, records, { timeoutMs: 200_000, quietMs: 15_000 });
    clearInterval(sampler);
    const drainMs = Date.now() - drainStarted;
    const output = bridge.output();
    const stopped = await bridge.stop();

    // Assess
    console.info(
      `backlog (Node ${process.versions.node}, ${MEASURE_OPTIONS ?? bridgeNodeOptions()}): ${RECORDS} records written in ${writeMs} ms, drained in ${drainMs} ms; bridge RSS peak ${mb(peakRss)} MB, at 10/25/50/75/90% of the drain ${[0.1, 0.25, 0.5, 0.75, 0.9].map((f) => mb(samples[Math.floor(samples.length * f)])).join('/')} MB`,
    );
    expect(drained, output).toMatchObject({ done: true });
    expect(samples.length).toBeGreaterThan(10);
    expect(peakRss).toBeLessThan(MAX_RSS_BYTES);
    expect(stopped, bridge.output()).toEqual({ code: 0, signal: null });
    // history() cannot take a store this size back in one go (see historyFrom).
    const t0 = Date.now();
    const events = await historyFrom(client, 1, 60_000);
    const t1 = Date.now();
    const report = checkPipeline(events, { group: GROUP });
    console.info(
      `backlog: history read in ${t1 - t0} ms (${events.length} events), judged in ${Date.now() - t1} ms`,
    );
    expect(report.problems).toEqual([]);
    expect(report.heatPuts).toBe(RECORDS);
    expect(report.jobStatePuts).toBe(RECORDS);
    expect(report.statePuts).toBe(RECORDS);
  }, 330_000);
});
