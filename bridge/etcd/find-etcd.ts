import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** Debian's fallback location, checked even when PATH is minimal (cron, systemd units, CI shells). */
export const DEFAULT_ETCD_PATH = '/usr/bin/etcd';

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

/** One of etcd's programs as Debian ships it. */
interface DebianTool {
  /** The file name looked for on PATH. */
  readonly binary: string;
  /** What to call it in an error ("etcd server binary"). */
  readonly what: string;
  /** The variable that names it explicitly. */
  readonly variable: string;
  /** Debian's location, looked at even when PATH is minimal. */
  readonly defaultPath: string;
  /** The package that ships it. */
  readonly debianPackage: string;
}

const ETCD_SERVER: DebianTool = {
  binary: 'etcd',
  what: 'etcd server binary',
  variable: 'ETCD_BIN',
  defaultPath: DEFAULT_ETCD_PATH,
  debianPackage: 'etcd-server',
};

const ETCDCTL: DebianTool = {
  binary: 'etcdctl',
  what: 'etcdctl',
  variable: 'ETCDCTL_BIN',
  defaultPath: '/usr/bin/etcdctl',
  debianPackage: 'etcd-client',
};

/**
 * Locates the etcd server binary: $ETCD_BIN, then PATH, then /usr/bin/etcd.
 * As root with apt-get available (a fresh CI container), installs etcd-server instead of failing.
 */
export function findEtcdBinary(options: FindEtcdOptions = {}): Promise<string> {
  return findTool(ETCD_SERVER, options);
}

/**
 * Locates etcdctl (what an operator runs; the fault tests and the soak run it too): $ETCDCTL_BIN,
 * then PATH, then /usr/bin/etcdctl. Debian ships it apart from the server, in etcd-client, which
 * is installed the same way when etcdctl is missing.
 */
export function findEtcdctl(options: FindEtcdOptions = {}): Promise<string> {
  return findTool(ETCDCTL, options);
}

async function findTool(tool: DebianTool, options: FindEtcdOptions): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`[find-etcd] ${line}\n`));
  const hint = `sudo apt-get install ${tool.debianPackage}`;

  const explicit = env[tool.variable];
  if (explicit !== undefined && explicit !== '') {
    // An explicit choice that is wrong is an error: silently running some other etcd would hide it.
    if (await isExecutableFile(explicit)) return explicit;
    throw new EtcdNotFoundError(
      `${tool.variable}=${explicit} is not an executable file. Point ${tool.variable} at the ${tool.what}, ` +
        `or unset it and install it: ${hint}`,
    );
  }

  const look = async (): Promise<string | undefined> =>
    (await findOnPath(tool.binary, env.PATH)) ??
    ((await isExecutableFile(tool.defaultPath)) ? tool.defaultPath : undefined);
  const found = await look();
  if (found !== undefined) return found;

  if (await mayInstall(options, env)) {
    await installDebianPackage(tool.debianPackage, log);
    const installed = await look();
    if (installed !== undefined) return installed;
    throw new EtcdNotFoundError(
      `installed ${tool.debianPackage} but no ${tool.binary} appeared on PATH or at ${tool.defaultPath}`,
    );
  }

  throw new EtcdNotFoundError(
    `${tool.what} not found (looked at $${tool.variable}, PATH and ${tool.defaultPath}). ` +
      `Install it with: ${hint}  (or set ${tool.variable}=/path/to/${tool.binary})`,
  );
}
