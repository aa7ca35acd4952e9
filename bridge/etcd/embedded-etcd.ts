import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { BACKOFF, Backoff } from '../failure/backoff.js';
import { request as httpRequest } from '../node-http.js';
import { findEtcdBinary } from './find-etcd.js';

/**
 * Client TLS: etcd serves https:// with this certificate (added for the security tests, which
 * need a real etcd with TLS; without it nothing changes). The start-up /health probe uses the
 * same certificate as its client certificate when `clientCertAuth` is on, so it must carry the
 * clientAuth extended key usage then (etcd's own docs make server certificates that way).
 */
export interface EmbeddedEtcdTls {
  certFile: string;
  keyFile: string;
  /** CA of client certificates (`--trusted-ca-file`), also used to verify the server in the probe. */
  trustedCaFile: string;
  /** `--client-cert-auth`: every client must present a certificate signed by `trustedCaFile`. */
  clientCertAuth?: boolean;
}

export interface EmbeddedEtcdOptions {
  /** Data directory; a fresh temp dir (removed by stop()) when omitted. */
  dataDir?: string;
  host?: string;
  clientPort?: number;
  peerPort?: number;
  name?: string;
  /** Receives every line etcd writes (stdout and stderr). */
  log?: (line: string) => void;
  /** Appended last, so they override the defaults below (Go's flag package keeps the last value). */
  extraArgs?: string[];
  /** How long to wait for etcd to serve; default 15 s. */
  startTimeoutMs?: number;
  /** etcd binary; default findEtcdBinary(). */
  binary?: string;
  /** Serve clients over TLS (https://); default plain http://. */
  tls?: EmbeddedEtcdTls;
  /**
   * Run etcd in its own process group, so a terminal's Ctrl-C reaches only its parent, which can
   * then stop its own work before etcd (`etcd-bridge dev`). Default false.
   */
  detached?: boolean;
}

export interface StopOptions {
  /** Keep a temp data dir so restart() can bring the same data back. */
  keepDataDir?: boolean;
  /** Grace period between SIGTERM and SIGKILL; default 5 s. */
  timeoutMs?: number;
}

export class EtcdStartError extends Error {
  override readonly name = 'EtcdStartError';
  constructor(
    message: string,
    readonly outputTail: readonly string[],
  ) {
    super(outputTail.length > 0 ? `${message}\n--- last etcd output ---\n${outputTail.join('\n')}` : message);
  }

  get addressInUse(): boolean {
    return this.outputTail.some((line) => line.includes('address already in use'));
  }

  /** The port etcd could not bind, from Go's "listen tcp 127.0.0.1:2379: bind: address already in use". */
  get portInUse(): number | undefined {
    for (const line of this.outputTail) {
      const match = /:(\d+): bind: address already in use/.exec(line);
      if (match?.[1] !== undefined) return Number(match[1]);
    }
    return undefined;
  }
}

const TAIL_LINES = 30;
const START_ATTEMPTS = 5;
// Printed by etcd itself once it serves clients (zap and capnslog wordings of 3.3-3.5). Requiring it
// besides /health proves the etcd answering on our port is ours, not another worker's that won a port race.
const READY_MARKER =
  /serving client traffic|ready to serve client requests|serving (in)?secure client requests/;

// Run synchronously when Node exits: SIGKILL each running etcd and remove its temp data dir.
const exitCleanups = new Set<() => void>();
let exitHookInstalled = false;

function runOnExit(cleanup: () => void): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const run of exitCleanups) run();
    });
  }
  exitCleanups.add(cleanup);
}

/**
 * An 'exit' handler is not enough: vitest ends fork workers with SIGTERM and thread workers with
 * terminate(), and neither runs it. So each etcd also gets a watchdog shell that blocks reading a pipe
 * from us and, on the EOF the kernel delivers however this process dies, SIGKILLs etcd and removes
 * its temp data dir. It is itself killed as soon as etcd exits, so it never signals a recycled pid.
 */
function watchdog(pid: number, tempDir: string | undefined, detached = false): ChildProcess | undefined {
  if (process.platform === 'win32') return undefined;
  const script = 'read -r _; kill -KILL "$1" 2>/dev/null; [ -z "$2" ] || { sleep 1; rm -rf -- "$2"; }';
  const dog = spawn('/bin/sh', ['-c', script, 'etcd-watchdog', String(pid), tempDir ?? ''], {
    stdio: ['pipe', 'ignore', 'ignore'],
    // Out of the terminal's reach like a detached etcd: a Ctrl-C or hang-up that kills the parent
    // must not kill the dog first and leave etcd running.
    detached,
  });
  dog.on('error', () => undefined); // best effort: without /bin/sh only the 'exit' hook protects
  dog.unref();
  (dog.stdin as { unref?: () => void } | null)?.unref?.();
  return dog;
}

/** Asks the kernel for a free port by binding port 0; the caller retries if someone takes it first. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}

/** etcd maps every ETCD_* variable onto a flag (and warns about unknown ones such as our ETCD_BIN). */
function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('ETCD')));
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  hasExited: () => boolean;
}

export class EmbeddedEtcd {
  private running: Running | undefined;
  private readonly tail: string[] = [];
  private sawReady = false;
  private dataDirRemoved = false;
  private readonly exitCleanup = (): void => {
    this.running?.child.kill('SIGKILL');
    if (this.ownsDataDir && !this.dataDirRemoved) rmSync(this.dataDir, { recursive: true, force: true });
  };

  private constructor(
    private readonly binary: string,
    readonly host: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
    private readonly options: EmbeddedEtcdOptions,
  ) {}

  static async start(options: EmbeddedEtcdOptions = {}): Promise<EmbeddedEtcd> {
    const binary = options.binary ?? (await findEtcdBinary(options.log ? { log: options.log } : {}));
    const host = options.host ?? '127.0.0.1';
    for (let attempt = 1; ; attempt++) {
      const clientPort = options.clientPort ?? (await freePort(host));
      const peerPort = options.peerPort ?? (await freePort(host));
      const ownsDataDir = options.dataDir === undefined;
      const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'embedded-etcd-')));
      const etcd = new EmbeddedEtcd(binary, host, clientPort, peerPort, dataDir, ownsDataDir, options);
      try {
        await etcd.launch();
        return etcd;
      } catch (error) {
        await etcd.stop();
        // Another process took a port we picked between our probe and etcd's bind: pick again.
        // A port the caller fixed will not free itself, so that fails at once.
        const busy = error instanceof EtcdStartError ? error.portInUse : undefined;
        const pickedByUs =
          (busy === clientPort && options.clientPort === undefined) ||
          (busy === peerPort && options.peerPort === undefined);
        if (!pickedByUs || attempt >= START_ATTEMPTS) throw error;
        // No pause (and so no backoff): new ports are picked, there is nothing to wait for.
        options.log?.(`etcd: port ${busy} was taken before etcd bound it; retrying with new ports`);
      }
    }
  }

  get clientUrl(): string {
    return `${this.options.tls ? 'https' : 'http'}://${this.host}:${this.clientPort}`;
  }

  get peerUrl(): string {
    return `http://${this.host}:${this.peerPort}`;
  }

  get pid(): number | undefined {
    return this.running?.child.pid;
  }

  get isRunning(): boolean {
    return this.running !== undefined && !this.running.hasExited();
  }

  /** Graceful stop (SIGTERM, then SIGKILL after timeoutMs); removes a temp data dir unless told not to. */
  async stop(options: StopOptions = {}): Promise<void> {
    const running = this.running;
    if (running !== undefined && !running.hasExited()) {
      // Ref'd while we wait, or an otherwise idle Node would exit under our feet mid-stop.
      running.child.ref();
      running.child.kill('SIGTERM');
      const timer = new AbortController();
      const timedOut = await Promise.race([
        running.exited.then(() => false),
        sleep(options.timeoutMs ?? 5_000, true, { signal: timer.signal }),
      ]);
      timer.abort();
      if (timedOut) {
        running.child.kill('SIGKILL');
        await running.exited;
      }
    }
    this.running = undefined;
    if (this.ownsDataDir && !options.keepDataDir && !this.dataDirRemoved) {
      this.dataDirRemoved = true;
      await rm(this.dataDir, { recursive: true, force: true });
    }
    // A kept temp dir still goes when Node exits; otherwise nothing is left to clean.
    if (!this.ownsDataDir || this.dataDirRemoved) exitCleanups.delete(this.exitCleanup);
  }

  /** SIGKILL, as a crash would; the data dir stays so restart() can recover from it. */
  async kill(): Promise<void> {
    const running = this.running;
    if (running !== undefined && !running.hasExited()) {
      running.child.ref();
      running.child.kill('SIGKILL');
      await running.exited;
    }
    this.running = undefined;
  }

  /** Starts etcd again on the same ports and data dir (stopping it gracefully first if it still runs). */
  async restart(): Promise<void> {
    if (this.dataDirRemoved) {
      throw new Error('restart(): the temp data dir was removed by stop(); use stop({ keepDataDir: true })');
    }
    await this.stop({ keepDataDir: true });
    const backoff = new Backoff(BACKOFF.etcdRestart);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.launch();
      } catch (error) {
        await this.kill();
        // The ports are fixed now, so the only remedy for a port still held by someone is to wait.
        if (!(error instanceof EtcdStartError && error.addressInUse) || attempt >= START_ATTEMPTS)
          throw error;
        await sleep(backoff.next());
      }
    }
  }

  private args(): string[] {
    const name = this.options.name ?? 'embedded';
    const tls = this.options.tls;
    return [
      `--name=${name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${this.clientUrl}`,
      `--advertise-client-urls=${this.clientUrl}`,
      `--listen-peer-urls=${this.peerUrl}`,
      `--initial-advertise-peer-urls=${this.peerUrl}`,
      `--initial-cluster=${name}=${this.peerUrl}`,
      '--initial-cluster-state=new',
      `--initial-cluster-token=embedded-${randomUUID()}`,
      '--logger=zap',
      '--log-outputs=stderr',
      // A single member has no peers to miss heartbeats; short ticks cut start-up from ~1 s to ~0.1 s.
      '--heartbeat-interval=10',
      '--election-timeout=100',
      ...(tls
        ? [
            `--cert-file=${tls.certFile}`,
            `--key-file=${tls.keyFile}`,
            `--trusted-ca-file=${tls.trustedCaFile}`,
            ...(tls.clientCertAuth ? ['--client-cert-auth'] : []),
          ]
        : []),
      ...(this.options.extraArgs ?? []),
    ];
  }

  private async launch(): Promise<void> {
    this.tail.length = 0;
    this.sawReady = false;
    const child = spawn(this.binary, this.args(), {
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: this.options.detached ?? false,
    });
    runOnExit(this.exitCleanup);
    const dog =
      child.pid === undefined
        ? undefined
        : watchdog(child.pid, this.ownsDataDir ? this.dataDir : undefined, this.options.detached);
    child.once('exit', () => dog?.kill('SIGKILL'));
    let exited = false;
    let spawnError: Error | undefined;
    const exitedPromise = new Promise<void>((resolve) => {
      const done = (): void => {
        exited = true;
        resolve();
      };
      child.once('exit', done);
      // A binary that cannot be run emits 'error' and never 'exit'.
      child.once('error', (error) => {
        spawnError = error;
        if (child.pid === undefined) done();
      });
    });
    // 'close' comes after stdout/stderr have ended, so the tail then holds etcd's last words.
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    this.running = { child, exited: exitedPromise, hasExited: () => exited };
    // Unref'd: a forgotten instance must not keep the test process alive (the exit hook kills it).
    child.unref();
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      (stream as { unref?: () => void }).unref?.();
      createInterface({ input: stream }).on('line', (line) => this.onLine(line));
    }

    const deadline = Date.now() + (this.options.startTimeoutMs ?? 15_000);
    const failure = exitedPromise.then(async () => {
      if (spawnError !== undefined) {
        return new EtcdStartError(`could not run ${this.binary}: ${spawnError.message}`, []);
      }
      await Promise.race([closed, sleep(1_000, undefined, { ref: false })]);
      const how = child.exitCode !== null ? `code ${child.exitCode}` : `signal ${child.signalCode}`;
      return new EtcdStartError(`etcd exited during start-up (${how})`, [...this.tail]);
    });
    let failed: EtcdStartError | undefined;
    void failure.then((error) => {
      failed = error;
    });

    while (failed === undefined) {
      if (this.sawReady && (await this.healthy())) return;
      if (Date.now() > deadline) {
        throw new EtcdStartError(`etcd did not serve ${this.clientUrl} within the start timeout`, [
          ...this.tail,
        ]);
      }
      // Polling for readiness, not a retry: etcd is starting, and says so within its start timeout.
      await sleep(25);
    }
    throw failed;
  }

  private onLine(line: string): void {
    if (READY_MARKER.test(line)) this.sawReady = true;
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.options.log?.(line);
  }

  /**
   * GET /health: true when etcd answers `{"health": "true"}`. Through node:http(s), not `fetch`:
   * fetch cannot be given a CA or a client certificate, and it would load Node's bundled undici
   * into `dev` for this one probe (bridge/node-http.ts).
   */
  private healthy(): Promise<boolean> {
    const tls = this.options.tls;
    const get = tls ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      try {
        const req = get(
          `${this.clientUrl}/health`,
          {
            timeout: 1_000,
            ...(tls ? { ca: readFileSync(tls.trustedCaFile) } : {}),
            ...(tls?.clientCertAuth
              ? { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }
              : {}),
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              text += chunk;
            });
            res.on('end', () => {
              try {
                resolve(
                  res.statusCode === 200 && (JSON.parse(text) as { health?: unknown }).health === 'true',
                );
              } catch {
                resolve(false);
              }
            });
            res.on('error', () => resolve(false));
          },
        );
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', () => resolve(false));
        req.end();
      } catch {
        resolve(false);
      }
    });
  }
}
