/**
 * Docker for the image test, on a machine that may have none running: Debian's docker.io installed
 * with apt when the daemon is missing (as root), and a daemon started here when none answers, as
 * `dockerd --bridge=none --iptables=false --ip6tables=false`: no docker0 bridge, no NAT rules, so
 * containers can only share the host's network (`--network host`). A daemon started here is stopped
 * by close().
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function sh(args: string[], options: { input?: string; inherit?: boolean } = {}): string {
  const result = spawnSync('docker', args, {
    encoding: 'utf8',
    stdio: options.inherit ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
  });
  if (result.status !== 0)
    throw new Error(
      `docker ${args.join(' ')} exited ${result.status}\n${result.stdout ?? ''}${result.stderr ?? ''}`,
    );
  return String(result.stdout ?? '');
}

export class Docker {
  private constructor(
    private readonly daemon: ChildProcess | undefined,
    private readonly daemonLog: string | undefined,
  ) {}

  static async ready(): Promise<Docker> {
    const missing = ['docker', 'dockerd', 'debootstrap'].filter((c) => !has(c));
    if (missing.length > 0) {
      if (process.getuid?.() !== 0 || !has('apt-get'))
        throw new Error(
          `test:image needs ${missing.join(', ')}: apt-get install -y docker.io debootstrap (as root)`,
        );
      process.stderr.write(
        `test:image: installing docker.io and debootstrap with apt (${missing.join(', ')} missing) ...\n`,
      );
      for (const args of [
        ['update', '-q'],
        ['install', '-y', '-q', 'docker.io', 'debootstrap'],
      ]) {
        const result = spawnSync('apt-get', args, {
          stdio: ['ignore', 'ignore', 'inherit'],
          env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        });
        if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (${result.status})`);
      }
    }
    if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0)
      return new Docker(undefined, undefined);

    const dir = mkdtempSync(join(tmpdir(), 'dockerd-'));
    const log = join(dir, 'dockerd.log');
    const out = openSync(log, 'a');
    process.stderr.write(`test:image: starting dockerd --bridge=none --iptables=false (log: ${log})\n`);
    const daemon = spawn('dockerd', ['--bridge=none', '--iptables=false', '--ip6tables=false'], {
      stdio: ['ignore', out, out],
    });
    const deadline = Date.now() + 60_000;
    while (spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0) {
      if (daemon.exitCode !== null || Date.now() > deadline) {
        daemon.kill('SIGTERM');
        throw new Error(
          `dockerd did not come up\n${existsSync(log) ? readFileSync(log, 'utf8').slice(-3000) : ''}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return new Docker(daemon, log);
  }

  hasImage(tag: string): boolean {
    return spawnSync('docker', ['image', 'inspect', tag], { stdio: 'ignore' }).status === 0;
  }

  /**
   * `docker build` of the repository's Dockerfile with the legacy builder: BuildKit would pull its
   * Dockerfile frontend (`# syntax=`) from a registry. It does not set BUILDPLATFORM, so it is given.
   */
  build(tag: string, buildArgs: Record<string, string>): void {
    const platform = `linux/${process.arch === 'arm64' ? 'arm64' : 'amd64'}`;
    const args = ['build', '--network', 'host', '--build-arg', `BUILDPLATFORM=${platform}`];
    for (const [name, value] of Object.entries(buildArgs)) args.push('--build-arg', `${name}=${value}`);
    const result = spawnSync('docker', [...args, '-t', tag, '.'], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
    });
    if (result.status !== 0) throw new Error(`docker build exited ${result.status}`);
  }

  /** A detached container on the host's network. */
  run(
    name: string,
    command: string[],
    env: Record<string, string> = {},
    image = 'etcd-bridge:test-image',
  ): void {
    this.remove(name);
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    sh(['run', '-d', '--name', name, '--network', 'host', ...envArgs, image, ...command]);
  }

  logs(name: string): string {
    const result = spawnSync('docker', ['logs', name], { encoding: 'utf8' });
    return `${result.stdout ?? ''}${result.stderr ?? ''}`;
  }

  exec(name: string, command: string[]): string {
    return sh(['exec', name, ...command]);
  }

  inspect(target: string, format: string): string {
    return sh(['inspect', '-f', format, target]).trim();
  }

  remove(name: string): void {
    spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  }

  async close(): Promise<void> {
    if (!this.daemon || this.daemon.exitCode !== null) return;
    const exited = new Promise((resolve) => this.daemon?.once('exit', resolve));
    this.daemon.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    if (this.daemon.exitCode === null)
      process.stderr.write(`test:image: dockerd still running, see ${this.daemonLog}\n`);
  }
}
