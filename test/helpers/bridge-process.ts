/**
 * The bridge as a child process (`node bin/etcd-bridge.js start ...`), as it runs in production, so
 * a test can SIGKILL, SIGSTOP and SIGCONT it. Its output is kept for diagnostics and for waiting on
 * a log line; it runs the compiled dist/, so `npm run build` must have run (CI's `npm ci` does).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Etcd3 } from 'etcd3';
import { keyspaceFor } from '../../bridge/keyspace.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'etcd-bridge.js');
const DIST_MAIN = join(ROOT, 'dist', 'bridge', 'cli', 'main.js');
const TAIL_LINES = 400;

export interface BridgeProcessOptions {
  /** etcd endpoint(s) for `--etcd`, comma-separated. */
  etcd: string;
  group: string;
  /** Written to a temp file and passed as `--config` (e.g. `{ leaseTtlSeconds: 2 }`). */
  config?: Record<string, unknown>;
  /** `--start-position` (for a route with no checkpoint yet); the bridge's default is `latest`. */
  startPosition?: 'latest' | 'earliest' | 'resync';
  /** A name for diagnostics. */
  name?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const running = new Set<BridgeProcess>();
let exitHookInstalled = false;

export class BridgeProcess {
  /** The last lines the process wrote (stdout and stderr), oldest first. */
  private readonly tail: string[] = [];
  private readonly lineWaiters = new Set<{ re: RegExp; resolve(line: string): void }>();
  private exitStatus: ExitStatus | undefined;
  readonly exited: Promise<ExitStatus>;
  readonly startedAt = Date.now();
  /** When the "elected leader" line came. */
  electedAt: number | undefined;
  lineCount = 0;
  /** How many times each log message (the JSON lines' `message`) was written, over the whole run. */
  readonly messages = new Map<string, number>();

  private constructor(
    private readonly child: ChildProcess,
    readonly name: string,
    private readonly configDir: string | undefined,
  ) {
    this.exited = new Promise<ExitStatus>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        running.delete(this);
        if (this.configDir) rmSync(this.configDir, { recursive: true, force: true });
        resolve(this.exitStatus);
      });
    });
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.onLine(line));
    }
  }

  static spawn(options: BridgeProcessOptions): BridgeProcess {
    if (!existsSync(DIST_MAIN)) throw new Error(`${DIST_MAIN} is missing: run \`npm run build\` first`);
    const args = [BIN, 'start', '--etcd', options.etcd, '--group', options.group, '--metrics-port', '0'];
    let configDir: string | undefined;
    if (options.config) {
      configDir = mkdtempSync(join(tmpdir(), 'bridge-config-'));
      const file = join(configDir, 'config.json');
      writeFileSync(file, JSON.stringify(options.config));
      args.push('--config', file);
    }
    if (options.startPosition) args.push('--start-position', options.startPosition);
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    installExitHook();
    const bridge = new BridgeProcess(child, options.name ?? `bridge-${child.pid}`, configDir);
    running.add(bridge);
    return bridge;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get exit(): ExitStatus | undefined {
    return this.exitStatus;
  }

  get hasExited(): boolean {
    return this.exitStatus !== undefined;
  }

  /** The last lines written, for a failure message. */
  output(lines = 60): string {
    return `--- ${this.name} (pid ${this.child.pid}), last ${Math.min(lines, this.tail.length)} of ${this.lineCount} lines ---\n${this.tail.slice(-lines).join('\n')}`;
  }

  /** Lines of the retained tail that match. */
  linesMatching(re: RegExp): string[] {
    return this.tail.filter((line) => re.test(line));
  }

  /** Resolves with the first line (from now or already in the tail) matching `re`. */
  waitForLine(re: RegExp, timeoutMs = 20_000): Promise<string> {
    const seen = this.tail.find((line) => re.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const waiter = {
        re,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.lineWaiters.delete(waiter);
        reject(new Error(`${this.name}: no line matching ${re} within ${timeoutMs} ms\n${this.output()}`));
      }, timeoutMs);
      this.lineWaiters.add(waiter);
      void this.exited.then((status) => {
        if (!this.lineWaiters.delete(waiter)) return;
        clearTimeout(timer);
        reject(
          new Error(
            `${this.name} exited (${JSON.stringify(status)}) before a line matching ${re}\n${this.output()}`,
          ),
        );
      });
    });
  }

  /** Resolves once the process has been elected leader of its group. */
  waitForLeader(timeoutMs = 20_000): Promise<string> {
    return this.waitForLine(/"message":"elected leader"/, timeoutMs);
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.hasExited) this.child.kill(signal);
  }

  /** Sends `signal` and waits for the process to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitStatus> {
    this.signal(signal);
    return this.exited;
  }

  /**
   * SIGTERM (the bridge drains and exits 0), then SIGKILL if it has not exited after `graceMs`:
   * the status then says `signal: 'SIGKILL'`, which a test reports as a bridge that would not stop.
   */
  async stop(graceMs = 15_000): Promise<ExitStatus> {
    // `etcd-bridge start` swaps its SIGTERM listener right after Bridge.start returns, removing the old
    // one before adding the new: a SIGTERM that arrives in that swap is caught by libuv but delivered
    // to no listener, and the process runs on. Until the CLI adds before it removes, keep clear of it.
    if (this.electedAt !== undefined) {
      const settle = this.electedAt + 1_000 - Date.now();
      if (settle > 0) await new Promise((resolve) => setTimeout(resolve, settle));
    }
    this.signal('SIGTERM');
    const status = await this.waitForExit(graceMs);
    if (status) return status;
    // For the failure report: was it spinning (R, CPU time rising) or waiting (S) when it would not stop?
    this.onLine(`[test] no exit ${graceMs} ms after SIGTERM; ${this.procState()}; sending SIGKILL`);
    return this.kill('SIGKILL');
  }

  /** The kernel's view of the process: state and CPU time so far (Linux). */
  procState(): string {
    try {
      const stat = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const masks = ['SigBlk', 'SigIgn', 'SigCgt'].map(
        (m) => `${m} ${new RegExp(`^${m}:\\s+(\\w+)`, 'm').exec(status)?.[1]}`,
      );
      let wchan = '?';
      let syscall = '?';
      try {
        wchan = readFileSync(`/proc/${this.child.pid}/wchan`, 'utf8');
        syscall = readFileSync(`/proc/${this.child.pid}/syscall`, 'utf8').split(' ').slice(0, 2).join(' ');
      } catch {}
      return `state ${fields[0]}, cpu ${(ticks / 100).toFixed(1)} s, ${masks.join(', ')}, wchan ${wchan}, syscall ${syscall}`;
    } catch {
      return 'state unknown';
    }
  }

  /** Waits for exit at most `timeoutMs`; undefined if it still runs. */
  async waitForExit(timeoutMs: number): Promise<ExitStatus | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resident set size in bytes from /proc (Linux), or undefined once the process is gone. */
  rssBytes(): number | undefined {
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
    } catch {
      return undefined;
    }
  }

  private onLine(line: string): void {
    this.lineCount++;
    const message = /^\{.*"message":"([^"\\]*)"/.exec(line)?.[1];
    if (message !== undefined) this.messages.set(message, (this.messages.get(message) ?? 0) + 1);
    if (message === 'elected leader') this.electedAt ??= Date.now();
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    for (const waiter of this.lineWaiters) {
      if (waiter.re.test(line)) {
        this.lineWaiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  }
}

/** SIGKILLs every bridge process still running (for afterAll) and waits for them to exit. */
export async function killAllBridgeProcesses(): Promise<void> {
  await Promise.all(
    [...running].map((bridge) => {
      // A stopped process must be continued to die of anything but SIGKILL; SIGKILL works either way.
      bridge.signal('SIGKILL');
      return bridge.exited;
    }),
  );
}

/**
 * Revokes the leases of a group's election keys. Only for when every bridge of the group is dead
 * (SIGKILLed): etcd would delete those keys itself once the lease TTL ran out; doing it at once
 * keeps a test's crashes within its time budget.
 */
export async function revokeDeadLeaders(client: Etcd3, group: string): Promise<void> {
  const election = await client
    .getAll()
    .prefix(`${keyspaceFor(group).root}election/`)
    .exec();
  for (const kv of election.kvs) {
    if (kv.lease !== '0') await client.leaseClient.leaseRevoke({ ID: kv.lease }).catch(() => undefined);
  }
}

/** A test worker that dies must not leave bridges behind (they would keep writing to a test etcd). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const bridge of running) bridge.signal('SIGKILL');
  });
}
