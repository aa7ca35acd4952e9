/**
 * A diagnostic, not a phase: the backlog phase's drain (bench/backlog.ts) with the child's stdout
 * and stderr kept in a file (for `--trace-gc` and the like) and any Node flags, environment and
 * bridge arguments, to find where the child's memory goes. With bench/rss-probe.mjs preloaded it
 * also writes what the child's memory consisted of at its RSS peak. Configured by environment:
 *
 *   EVENTS=30000 TRACE_FLAGS="--import ./bench/rss-probe.mjs --trace-gc" TRACE_OUT=/tmp/trace.out \
 *   RSS_PROBE_OUT=/tmp/probe.json [TRACE_ARGS="--config cfg.json"] npx tsx bench/backlog-trace.ts
 *
 * TRACE_FLAGS replace nothing: the bin still adds its own heap flags where it re-executes (Node
 * 24), so give them explicitly on Node 20. Prints peak RSS (VmHWM), drain rate and the child's CPU
 * per event. A 30,000-event drain is for comparing two variants, alternated: its peak reads 5-10 MB
 * below a 100,000-event drain's in the same hour (the RSS reaches ~95% of its peak in the first
 * 20 s and creeps up after), so the target is judged on the backlog phase's 100,000.
 */
import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import { BRIDGE_ENV } from '../bin/v8-flags.js';
import { EmbeddedEtcd } from '../bridge/etcd/embedded-etcd.js';
import { headRevision } from '../bridge/etcd/head.js';
import { BRIDGE_BIN, parseProcStatus } from './backlog.js';
import { parsePidStat } from './cpu.js';
import { StateWatch } from './state-watch.js';
import { makeWorkload, writeConfigs, writeInputs } from './workload.js';

const words = (value: string | undefined) => (value ?? '').split(/\s+/).filter(Boolean);
const events = Number(process.env.EVENTS ?? 30_000);
const flags = words(process.env.TRACE_FLAGS);
const outFile = process.env.TRACE_OUT ?? 'backlog-trace.out';

/** VmHWM in kB, or 0 once the process is gone. */
function hwmKb(pid: number): number {
  try {
    return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'))?.hwmKb ?? 0;
  } catch {
    return 0;
  }
}

/** utime + stime of a process, in seconds (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  try {
    return (parsePidStat(readFileSync(`/proc/${pid}/stat`, 'utf8')) ?? Number.NaN) / 100;
  } catch {
    return Number.NaN;
  }
}

const etcd = await EmbeddedEtcd.start({ extraArgs: words(process.env.ETCD_ARGS) });
const client = new Etcd3({ hosts: etcd.clientUrl });
try {
  const workload = makeWorkload('backlog', 1_000, 1);
  await writeConfigs(client, workload);
  const from = (await headRevision(client)) + 1n;
  await writeInputs(client, workload, 0, events, { parallel: 64 });
  const watch = await StateWatch.start(client, workload, from);
  const started = performance.now();
  const args = ['start', '--etcd', etcd.clientUrl, '--group', 'bench', '--metrics-port', '0'];
  const child = spawn(
    process.execPath,
    [...flags, BRIDGE_BIN, ...args, '--start-position', from.toString(), ...words(process.env.TRACE_ARGS)],
    {
      stdio: ['ignore', openSync(outFile, 'w'), openSync(outFile, 'a')],
      env: { ...BRIDGE_ENV, ...process.env, LOG_LEVEL: 'warn' },
    },
  );
  const pid = child.pid ?? 0;
  let peakKb = 0;
  const sampler = setInterval(() => {
    peakKb = Math.max(peakKb, hwmKb(pid));
  }, 50);
  try {
    await watch.waitForCount(events, { stallMs: 60_000 });
    peakKb = Math.max(peakKb, hwmKb(pid));
    const cpuS = cpuSeconds(pid);
    const rate = (events / (watch.lastSeenAt - started)) * 1_000;
    console.log(
      `peak ${((peakKb * 1024) / 1e6).toFixed(1)} MB, ${rate.toFixed(0)} events/s, ` +
        `${((cpuS * 1e6) / events).toFixed(0)} µs CPU/event, flags ${flags.join(' ')}`,
    );
  } finally {
    clearInterval(sampler);
    watch.close();
    if (child.exitCode === null && child.signalCode === null) {
      const exit = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exit;
    }
  }
} finally {
  client.close();
  await etcd.stop();
}
