/**
 * Phase 6: the bridge as it runs in production — its own process, `etcd-bridge start` — draining a
 * backlog written before it started, while its memory is sampled from /proc/<pid>/status (VmRSS
 * every 50 ms; VmHWM, the kernel's own high-water mark, at the end). Reported in MB (10^6 bytes).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { EmbeddedEtcd } from '../bridge/etcd/embedded-etcd.js';
import { headRevision } from '../bridge/etcd/head.js';
import { type CpuShare, startCpuMeter } from './cpu.js';
import { StateWatch } from './state-watch.js';
import { ratePerSecond } from './stats.js';
import { makeWorkload, writeConfigs, writeInputs } from './workload.js';

/** The CLI entry point, from dist/bridge/bench/ (built) — the bench runs the built CLI. */
export const BRIDGE_BIN = fileURLToPath(new URL('../bin/etcd-bridge.js', import.meta.url));

export interface BacklogOptions {
  readonly events: number;
  readonly keys: number;
  /** Extra etcd flags (see BenchOptions.etcdArgs). */
  readonly etcdArgs?: readonly string[];
  /** Write a V8 CPU profile of the child into this directory (`node --cpu-prof`). */
  readonly cpuProfDir?: string;
  readonly onProgress?: (phase: 'writing' | 'draining', done: number, total: number) => void;
}

export interface BacklogResult {
  readonly events: number;
  /** max(VmHWM, every VmRSS sample), in MB (10^6 bytes; /proc counts KiB). */
  readonly peakRssMb: number;
  readonly samples: number;
  /** Spawn → last state record seen, so it includes the child's start-up. */
  readonly drainMs: number;
  readonly eventsPerS: number;
  readonly command: string;
  /** CPU over the drain: `child` is the bridge, `self` the bench's watch. */
  readonly cpu: CpuShare | undefined;
}

/** VmRSS and VmHWM of a process, in kB; undefined once it is gone. */
export function parseProcStatus(text: string): { rssKb: number; hwmKb: number } | undefined {
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(text);
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(text);
  if (!rss?.[1] || !hwm?.[1]) return undefined;
  return { rssKb: Number(rss[1]), hwmKb: Number(hwm[1]) };
}

async function readStatus(pid: number): Promise<{ rssKb: number; hwmKb: number } | undefined> {
  try {
    return parseProcStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

export async function measureBacklog(options: BacklogOptions): Promise<BacklogResult> {
  const etcd = await EmbeddedEtcd.start({ extraArgs: [...(options.etcdArgs ?? [])] });
  const client = new Etcd3({ hosts: etcd.clientUrl });
  const workload = makeWorkload('backlog', options.keys, 1);
  let child: ReturnType<typeof spawn> | undefined;
  let watch: StateWatch | undefined;
  try {
    await writeConfigs(client, workload);
    const from = (await headRevision(client)) + 1n;
    await writeInputs(client, workload, 0, options.events, {
      parallel: 64,
      onWritten: (done) => options.onProgress?.('writing', done, options.events),
    });
    watch = await StateWatch.start(client, workload, from);

    const args = [
      BRIDGE_BIN,
      'start',
      '--etcd',
      etcd.clientUrl,
      '--group',
      'bench',
      '--metrics-port',
      '0',
      '--start-position',
      from.toString(),
    ];
    const nodeArgs = options.cpuProfDir
      ? [
          '--cpu-prof',
          '--cpu-prof-dir',
          options.cpuProfDir,
          '--cpu-prof-name',
          'bench-backlog-bridge.cpuprofile',
        ]
      : [];
    const command = `node ${[...nodeArgs, ...args].join(' ')}`;
    const meter = startCpuMeter({ etcd: etcd.pid, child: () => child?.pid });
    const started = performance.now();
    child = spawn(process.execPath, [...nodeArgs, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
    const stderrTail: string[] = [];
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderrTail.push(...chunk.split('\n').filter(Boolean));
      stderrTail.splice(0, Math.max(0, stderrTail.length - 20));
    });
    let exited: string | undefined;
    const exit = new Promise<void>((resolve) =>
      child?.once('exit', (code, signal) => {
        exited = `exit ${code ?? signal}`;
        resolve();
      }),
    );
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${command}`);

    let peakKb = 0;
    let samples = 0;
    const sampler = setInterval(() => {
      void readStatus(pid).then((status) => {
        if (!status) return;
        samples++;
        peakKb = Math.max(peakKb, status.rssKb, status.hwmKb);
      });
    }, 50);
    try {
      await watch.waitForCount(options.events, {
        stallMs: 60_000,
        check: () => {
          if (exited) throw new Error(`bridge ${exited}:\n${stderrTail.join('\n')}`);
        },
        onProgress: (count) => options.onProgress?.('draining', count, options.events),
      });
      const cpu = meter.stop();
      const drainMs = watch.lastSeenAt - started;
      const last = await readStatus(pid);
      if (last) peakKb = Math.max(peakKb, last.rssKb, last.hwmKb);
      clearInterval(sampler);
      child.kill('SIGTERM');
      await exit;
      return {
        events: options.events,
        peakRssMb: (peakKb * 1024) / 1e6,
        samples,
        drainMs,
        eventsPerS: ratePerSecond(options.events, drainMs),
        command,
        cpu,
      };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    watch?.close();
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
    client.close();
    await etcd.stop();
  }
}
