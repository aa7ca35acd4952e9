/**
 * A long-running `etcd-bridge` command from source (node --import tsx, like test/helpers/cli.ts),
 * keeping everything it writes so a test can wait for a line and scan the whole output afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('../../../bridge/cli/entry.ts', import.meta.url));

const running = new Set<CliProcess>();

export class CliProcess {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<{ re: RegExp; resolve(line: string): void }>();

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        running.delete(this);
        resolve({ code, signal });
      });
    });
    for (const [stream, lines] of [
      [child.stdout, this.stdout],
      [child.stderr, this.stderr],
    ] as const) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        for (const waiter of this.waiters) {
          if (waiter.re.test(line)) {
            this.waiters.delete(waiter);
            waiter.resolve(line);
          }
        }
      });
    }
  }

  static spawn(args: string[], env: NodeJS.ProcessEnv): CliProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const cli = new CliProcess(child);
    running.add(cli);
    return cli;
  }

  /** stdout and stderr, every line so far. */
  get output(): string {
    return [...this.stdout, ...this.stderr].join('\n');
  }

  /** The number of lines so far that match. */
  count(re: RegExp): number {
    return [...this.stdout, ...this.stderr].filter((line) => re.test(line)).length;
  }

  waitForLine(re: RegExp, timeoutMs = 20_000): Promise<string> {
    const seen = [...this.stdout, ...this.stderr].find((line) => re.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no line matching ${re} within ${timeoutMs} ms\n${this.output}`));
      }, timeoutMs);
      const waiter = {
        re,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      this.waiters.add(waiter);
      void this.exited.then((status) => {
        if (!this.waiters.delete(waiter)) return;
        clearTimeout(timer);
        reject(new Error(`exited (${JSON.stringify(status)}) before a line matching ${re}\n${this.output}`));
      });
    });
  }

  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/** SIGKILLs every process still running (afterAll). */
export async function killAllCliProcesses(): Promise<void> {
  await Promise.all(
    [...running].map((cli) => {
      cli.signal('SIGKILL');
      return cli.exited;
    }),
  );
}
