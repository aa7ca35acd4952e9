/**
 * Phase 9: the bridge as it runs in production — its own process, `etcd-bridge start` — draining a
 * backlog written before it started, while its memory is sampled from /proc/<pid>/status (VmRSS
 * every 50 ms; VmHWM, the kernel's own high-water mark, at the end). Reported in MB (10^6 bytes).
 *
 * The child runs on the bench's own Node (process.execPath: `PATH=<node 24>/bin:$PATH npm run bench`
 * measures Node 24) with the bridge's shipped heap settings on every Node: see `backlogChildEnv`.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { BRIDGE_ENV, bridgeNodeOptions } from '../bin/v8-flags.js';
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
  /**
   * Node/V8 flags for the child's command line instead of the bridge's own, to measure other
   * settings (any V8 flag: NODE_OPTIONS refuses many); given flags win over the bin's
   * (bin/v8-flags.js), the ones not given are still added where the bin re-executes.
   */
  readonly nodeFlags?: readonly string[];
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
  /** The bridge process's CPU time (user + system) per event, µs: less disturbed by load than the rate. */
  readonly cpuPerEventUs: number | undefined;
}

/** VmRSS and VmHWM of a process, in kB; undefined once it is gone. */
export function parseProcStatus(text: string): { rssKb: number; hwmKb: number } | undefined {
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(text);
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(text);
  if (!rss?.[1] || !hwm?.[1]) return undefined;
  return { rssKb: Number(rss[1]), hwmKb: Number(hwm[1]) };
}

/**
 * The child's environment and Node flags, so it runs with what ships. Where Node can re-execute
 * itself (process.execve, Node >= 22.15) the bin adds the heap flags and MALLOC_ARENA_MAX itself;
 * an older Node (20) runs as started, so the bench gives them the way docs/deploy.md tells a
 * Node 20 user to: NODE_OPTIONS and MALLOC_ARENA_MAX. `nodeFlags` go on the command line instead
 * (MALLOC_ARENA_MAX is still given). A MALLOC_ARENA_MAX already in `env` wins.
 */
export function backlogChild(
  env: NodeJS.ProcessEnv,
  options: { readonly canReexecute: boolean; readonly nodeFlags?: readonly string[] | undefined },
): { env: Record<string, string | undefined>; nodeArgs: string[] } {
  const out: Record<string, string | undefined> = { ...env, LOG_LEVEL: 'warn' };
  if (options.nodeFlags !== undefined) {
    out.MALLOC_ARENA_MAX ??= BRIDGE_ENV.MALLOC_ARENA_MAX;
    return { env: out, nodeArgs: [...options.nodeFlags] };
  }
  if (!options.canReexecute) {
    out.NODE_OPTIONS = [env.NODE_OPTIONS, bridgeNodeOptions()].filter(Boolean).join(' ');
    out.MALLOC_ARENA_MAX ??= BRIDGE_ENV.MALLOC_ARENA_MAX;
  }
  return { env: out, nodeArgs: [] };
}

/** `NAME=value …` of the variables the bench set for the child, for the report's command line. */
function envPrefix(childEnv: Record<string, string | undefined>, env: NodeJS.ProcessEnv): string {
  return ['NODE_OPTIONS', 'MALLOC_ARENA_MAX']
    .filter((name) => childEnv[name] !== undefined && childEnv[name] !== env[name])
    .map((name) => `${name}=${JSON.stringify(childEnv[name])} `)
    .join('');
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
    const child0 = backlogChild(process.env, {
      canReexecute: typeof (process as { execve?: unknown }).execve === 'function',
      nodeFlags: options.nodeFlags,
    });
    const childEnv = child0.env;
    const nodeArgs = options.cpuProfDir
      ? [
          ...child0.nodeArgs,
          '--cpu-prof',
          '--cpu-prof-dir',
          options.cpuProfDir,
          '--cpu-prof-name',
          'bench-backlog-bridge.cpuprofile',
        ]
      : child0.nodeArgs;
    const command = `${envPrefix(childEnv, process.env)}node ${process.version} ${[...nodeArgs, ...args].join(' ')}`;
    const meter = startCpuMeter({ etcd: etcd.pid, child: () => child?.pid });
    const started = performance.now();
    child = spawn(process.execPath, [...nodeArgs, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: childEnv,
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
        cpuPerEventUs: cpu ? (cpu.child * cpu.wallS * 1e6) / options.events : undefined,
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
