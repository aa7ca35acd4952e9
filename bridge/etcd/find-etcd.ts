import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** Debian's fallback location, checked even when PATH is minimal (cron, systemd units, CI shells). */
export const DEFAULT_ETCD_PATH = '/usr/bin/etcd';
export const INSTALL_HINT = 'sudo apt-get install etcd-server';

export class EtcdNotFoundError extends Error {
  override readonly name = 'EtcdNotFoundError';
}

export interface FindEtcdOptions {
  /** Install Debian's etcd-server when missing; only ever happens as root with apt-get. Default true. */
  install?: boolean;
  log?: (line: string) => void;
  /** Environment to read ETCD_BIN and PATH from; defaults to process.env (injectable for tests). */
  env?: NodeJS.ProcessEnv;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string, pathVar: string | undefined): Promise<string | undefined> {
  for (const dir of (pathVar ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function run(command: string, args: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const forward = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') log(line);
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

// Parallel test workers in one process share a single install per package; separate processes
// (vitest forks) are serialised by dpkg's lock, which the Lock::Timeout option makes apt wait for
// instead of failing.
const installing = new Map<string, Promise<void>>();

function installDebianPackage(name: string, log: (line: string) => void): Promise<void> {
  let install = installing.get(name);
  if (install === undefined) {
    install = (async () => {
      const lockWait = ['-o', 'DPkg::Lock::Timeout=300'];
      // Always on stderr, whatever `log` is: installing system packages must never be silent.
      process.stderr.write(`[find-etcd] ${name} not installed; installing the Debian package with apt-get\n`);
      await run('apt-get', [...lockWait, 'update'], log);
      await run('apt-get', [...lockWait, 'install', '-y', name], log);
    })();
    installing.set(name, install);
    // A failed install may be retried by a later call rather than being cached forever.
    install.catch(() => installing.delete(name));
  }
  return install;
}

async function mayInstall(options: FindEtcdOptions, env: NodeJS.ProcessEnv): Promise<boolean> {
  return (
    (options.install ?? true) &&
    process.getuid?.() === 0 &&
    (await findOnPath('apt-get', env.PATH ?? '/usr/bin:/bin')) !== undefined
  );
}

/**
 * Locates the etcd server binary: $ETCD_BIN, then PATH, then /usr/bin/etcd.
 * As root with apt-get available (a fresh CI container), installs etcd-server instead of failing.
 */
export async function findEtcdBinary(options: FindEtcdOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`[find-etcd] ${line}\n`));

  const explicit = env.ETCD_BIN;
  if (explicit !== undefined && explicit !== '') {
    // An explicit choice that is wrong is an error: silently running some other etcd would hide it.
    if (await isExecutableFile(explicit)) return explicit;
    throw new EtcdNotFoundError(
      `ETCD_BIN=${explicit} is not an executable file. Point ETCD_BIN at an etcd binary, ` +
        `or unset it and install etcd: ${INSTALL_HINT}`,
    );
  }

  const found = (await findOnPath('etcd', env.PATH)) ?? (await fallback());
  if (found !== undefined) return found;

  if (await mayInstall(options, env)) {
    await installDebianPackage('etcd-server', log);
    const installed = (await findOnPath('etcd', env.PATH)) ?? (await fallback());
    if (installed !== undefined) return installed;
    throw new EtcdNotFoundError(
      `installed etcd-server but no etcd binary appeared on PATH or at ${DEFAULT_ETCD_PATH}`,
    );
  }

  throw new EtcdNotFoundError(
    `etcd server binary not found (looked at $ETCD_BIN, PATH and ${DEFAULT_ETCD_PATH}). ` +
      `Install it with: ${INSTALL_HINT}  (or set ETCD_BIN=/path/to/etcd)`,
  );
}

async function fallback(): Promise<string | undefined> {
  return (await isExecutableFile(DEFAULT_ETCD_PATH)) ? DEFAULT_ETCD_PATH : undefined;
}

export const DEFAULT_ETCDCTL_PATH = '/usr/bin/etcdctl';
export const ETCDCTL_INSTALL_HINT = 'sudo apt-get install etcd-client';

/**
 * Locates etcdctl (what an operator runs; the fault tests and the soak run it too): $ETCDCTL_BIN,
 * then PATH, then /usr/bin/etcdctl. Debian ships it apart from the server, in etcd-client; as root
 * with apt-get, that package is installed when etcdctl is missing.
 */
export async function findEtcdctl(options: FindEtcdOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`[find-etcd] ${line}\n`));
  const explicit = env.ETCDCTL_BIN;
  if (explicit !== undefined && explicit !== '') {
    if (await isExecutableFile(explicit)) return explicit;
    throw new EtcdNotFoundError(
      `ETCDCTL_BIN=${explicit} is not an executable file (${ETCDCTL_INSTALL_HINT})`,
    );
  }
  const look = async () =>
    (await findOnPath('etcdctl', env.PATH)) ??
    ((await isExecutableFile(DEFAULT_ETCDCTL_PATH)) ? DEFAULT_ETCDCTL_PATH : undefined);
  const found = await look();
  if (found !== undefined) return found;
  if (await mayInstall(options, env)) {
    await installDebianPackage('etcd-client', log);
    const installed = await look();
    if (installed !== undefined) return installed;
  }
  throw new EtcdNotFoundError(
    `etcdctl not found (looked at $ETCDCTL_BIN, PATH and ${DEFAULT_ETCDCTL_PATH}). Install it with: ${ETCDCTL_INSTALL_HINT}`,
  );
}
