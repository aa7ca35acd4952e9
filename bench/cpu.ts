/**
 * Where the CPU went during a phase, from /proc: this process, the etcd, a child bridge, and
 * everything else on the machine (other builds and tests sharing the cores disturb the figures,
 * so the bench reports them rather than pretend they were not there). Linux only; elsewhere the
 * meter reports nothing.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Clock ticks a second of /proc's counters (USER_HZ, 100 on every Linux the bridge runs on). */
const TICKS_PER_S = 100;

export interface CpuShare {
  readonly wallS: number;
  /** Cores used on average (1 = one core busy all the time). */
  readonly self: number;
  readonly etcd: number;
  readonly child: number;
  /** Busy time of the machine that none of the above used. */
  readonly other: number;
  readonly cores: number;
}

/** Busy and total ticks of all CPUs, from the first line of /proc/stat. */
export function parseProcStat(text: string): { busy: number; total: number } | undefined {
  const line = text.split('\n', 1)[0] ?? '';
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== 'cpu') return undefined;
  const values = fields.slice(1).map(Number);
  const total = values.slice(0, 8).reduce((sum, v) => sum + (Number.isFinite(v) ? v : 0), 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/** utime + stime of a process, in ticks, from /proc/<pid>/stat (the name may hold spaces). */
export function parsePidStat(text: string): number | undefined {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : undefined;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function pidTicks(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const text = read(`/proc/${pid}/stat`);
  return (text && parsePidStat(text)) || 0;
}

export interface CpuMeter {
  /** Stop measuring; the pids are read once more here, so call it while they still run. */
  stop(): CpuShare | undefined;
}

/** `child` names a process started after the meter (its whole CPU time counts). */
export function startCpuMeter(pids: {
  etcd?: number | undefined;
  child?: () => number | undefined;
}): CpuMeter {
  const system0 = parseProcStat(read('/proc/stat') ?? '');
  const self0 = process.cpuUsage();
  const etcd0 = pidTicks(pids.etcd);
  const started = performance.now();
  return {
    stop() {
      const system1 = parseProcStat(read('/proc/stat') ?? '');
      if (!system0 || !system1) return undefined;
      const wallS = (performance.now() - started) / 1000;
      const used = process.cpuUsage(self0);
      const self = (used.user + used.system) / 1e6;
      const etcd = (pidTicks(pids.etcd) - etcd0) / TICKS_PER_S;
      const child = pidTicks(pids.child?.()) / TICKS_PER_S;
      const busy = (system1.busy - system0.busy) / TICKS_PER_S;
      return {
        wallS,
        self: self / wallS,
        etcd: etcd / wallS,
        child: child / wallS,
        other: Math.max(0, busy - self - etcd - child) / wallS,
        cores: cpus().length,
      };
    },
  };
}

/** Cores the whole machine kept busy over `ms` (undefined off Linux). */
export async function machineBusy(ms = 1_000): Promise<number | undefined> {
  const before = parseProcStat(read('/proc/stat') ?? '');
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = parseProcStat(read('/proc/stat') ?? '');
  if (!before || !after) return undefined;
  return (after.busy - before.busy) / TICKS_PER_S / (ms / 1000);
}

/**
 * On a shared machine, wait (at most `maxWaitS`) until the others leave the cores alone: less than
 * `threshold` cores busy over a second while the bench itself is idle. Returns the seconds waited.
 */
export async function waitForQuiet(maxWaitS: number, threshold = 0.25): Promise<number> {
  const started = performance.now();
  while ((performance.now() - started) / 1000 < maxWaitS) {
    const busy = await machineBusy();
    if (busy === undefined || busy < threshold) break;
  }
  return (performance.now() - started) / 1000;
}
