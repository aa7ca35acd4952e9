/**
 * One execution environment, as Lambda runs one: a child process running AWS's Runtime Interface
 * Client (aws-lambda-ric) on Node 24 with the environment Lambda sets, and the Lambda Runtime API
 * (`/2018-06-01/runtime/...`) it polls, served here on a port of its own (Lambda's RAPID serves each
 * sandbox on its own 127.0.0.1:9001 the same way).
 *
 * One invocation at a time. The first invocation waits for the init (the runtime's first
 * `invocation/next`). An invocation ends with the runtime's response or error, or with the process:
 * past the function's timeout the environment is killed (`Sandbox.Timedout`), and a process that
 * exits mid-invocation gives `Runtime.ExitError`. A dead environment is never reused.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { localFunctionArn } from '../../invoke/lambda-context.js';
import { createServer } from '../../node-http.js';
import { readBodyWithin } from '../http-io.js';
import type { InvocationOutcome } from '../invocation.js';
import { BoundedLog, endLine, reportLine, startLine } from './invocation-log.js';
import { lambdaEnvironment, nodeArgs } from './lambda-environment.js';
import { exitReason, type InitOutcome, initFailure, type RawOutcome, toOutcome } from './lambda-errors.js';
import type { RuntimeTools } from './runtime-tools.js';

export interface EnvironmentSpec {
  readonly functionName: string;
  readonly taskRoot: string;
  /** `_HANDLER`, e.g. `index.handler`. */
  readonly handler: string;
  readonly memoryMiB: number;
  readonly timeoutMs: number;
  /** The template's Environment block (Lambda's reserved variables are set over it). */
  readonly environment: Readonly<Record<string, string>>;
  readonly logFormat: 'Text' | 'JSON';
  readonly region: string;
  /** Lambda gives the init phase 10 s. */
  readonly initTimeoutMs?: number;
  /** The synchronous payload limit, 6 MB, for the runtime's response too. */
  readonly maxPayloadBytes: number;
}

export interface EnvironmentResult {
  readonly outcome: InvocationOutcome;
  /** The invocation's log: START, the function's output, END, REPORT. */
  readonly log: string;
  readonly coldStart: boolean;
  readonly initDurationMs: number | undefined;
  readonly durationMs: number;
}

interface CurrentInvocation {
  readonly requestId: string;
  readonly payload: string;
  delivered: boolean;
  settle(outcome: RawOutcome): void;
}

const RUNTIME_PATH = '/2018-06-01/runtime/';
const INVOCATION_PATH = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/;
/** Error bodies the runtime posts are small; a bound keeps a broken runtime from filling memory. */
const MAX_ERROR_BODY_BYTES = 1024 * 1024;

export class ExecutionEnvironment {
  readonly #spec: EnvironmentSpec;
  readonly #server: Server;
  readonly #child: ChildProcess;
  readonly #init: Promise<InitOutcome>;
  readonly #spawnedAt = performance.now();
  #resolveInit!: (outcome: InitOutcome) => void;
  #initialized = false;
  #parkedNext: ServerResponse | undefined;
  #current: CurrentInvocation | undefined;
  #log: BoundedLog | undefined;
  #busy = false;
  #dead = false;
  /** Why the process ended, once it has. */
  #exitReason = 'Runtime exited without providing a reason';
  readonly #exited: Promise<void>;

  private constructor(
    spec: EnvironmentSpec,
    server: Server,
    child: ChildProcess,
    onLog: (line: string) => void,
  ) {
    this.#spec = spec;
    this.#server = server;
    this.#child = child;
    this.#init = new Promise((resolve) => {
      this.#resolveInit = resolve;
    });
    let pending = '';
    const onOutput = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      this.#log?.append(text);
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.length > 0) onLog(line);
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    this.#exited = new Promise((resolve) => {
      const gone = (reason: string): void => {
        if (this.#dead) return;
        this.#dead = true;
        this.#exitReason = reason;
        this.#resolveInit({ kind: 'exit', reason });
        this.#current?.settle({ kind: 'exit', reason });
        this.#server.close();
        this.#server.closeAllConnections();
        resolve();
      };
      child.once('exit', (code, signal) => gone(exitReason(code, signal)));
      // A process that never started (no Node 24 binary, say) emits no 'exit'.
      child.once('error', (error) => {
        onLog(`the runtime process could not start: ${error.message}`);
        if (child.pid === undefined) gone(`Runtime failed to start: ${error.message}`);
      });
    });
  }

  /** Serves a Runtime API on a free loopback port and starts the runtime process against it. */
  static async start(
    spec: EnvironmentSpec,
    tools: RuntimeTools,
    onLog: (line: string) => void,
  ): Promise<ExecutionEnvironment> {
    let environment: ExecutionEnvironment | undefined;
    const server = createServer((req, res) => {
      if (!environment) {
        res.writeHead(503).end();
        return;
      }
      environment.#handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    // The runtime's `next` is a long poll: no timeout may cut it.
    server.requestTimeout = 0;
    server.headersTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const child = spawn(tools.node, [...nodeArgs(spec.memoryMiB), tools.ric], {
      cwd: spec.taskRoot,
      env: lambdaEnvironment(spec, tools, `127.0.0.1:${port}`),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    environment = new ExecutionEnvironment(spec, server, child, onLog);
    return environment;
  }

  get busy(): boolean {
    return this.#busy;
  }

  /** Claims an idle environment for one invocation (synchronously, so two callers never share it). */
  reserve(): boolean {
    if (this.#busy || this.#dead) return false;
    this.#busy = true;
    return true;
  }

  get dead(): boolean {
    return this.#dead;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** The process's resident memory now and at its peak (Lambda's "Max Memory Used"), from /proc. */
  memory(): { rssBytes: number; peakBytes: number } | undefined {
    const pid = this.#child.pid;
    if (pid === undefined || this.#dead) return undefined;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (field: string): number =>
        Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
      return { rssBytes: kb('VmRSS') * 1024, peakBytes: kb('VmHWM') * 1024 };
    } catch {
      return undefined;
    }
  }

  /** Runs one invocation on an environment claimed with reserve(); releases it when done. */
  async invoke(requestId: string, payload: string): Promise<EnvironmentResult> {
    if (!this.#busy) throw new Error('invoke() needs reserve() first');
    const log = new BoundedLog();
    this.#log = log;
    const coldStart = !this.#initialized;
    try {
      let initDurationMs: number | undefined;
      if (coldStart) {
        const init = await this.#waitForInit();
        initDurationMs = performance.now() - this.#spawnedAt;
        if (init.kind !== 'ready') {
          await this.kill();
          await settleOutput();
          return this.#finish(
            log,
            requestId,
            initFailure(requestId, init, this.#spec),
            coldStart,
            initDurationMs,
            0,
          );
        }
      }
      log.append(startLine(requestId));
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const raw = await new Promise<RawOutcome>((resolve) => {
        let settled = false;
        this.#current = {
          requestId,
          payload,
          delivered: false,
          settle: (outcome) => {
            if (settled) return;
            settled = true;
            resolve(outcome);
          },
        };
        // A process that ended while idle will never answer.
        if (this.#dead) this.#current.settle({ kind: 'exit', reason: this.#exitReason });
        timer = setTimeout(() => this.#current?.settle({ kind: 'timeout' }), this.#spec.timeoutMs);
        this.#deliver();
      });
      clearTimeout(timer);
      const durationMs = performance.now() - started;
      this.#current = undefined;
      // A timed-out environment is frozen mid-work in Lambda and then discarded: here, killed.
      if (raw.kind === 'timeout') await this.kill();
      await settleOutput();
      return this.#finish(
        log,
        requestId,
        toOutcome(requestId, raw, this.#spec),
        coldStart,
        initDurationMs,
        durationMs,
        raw.kind === 'timeout',
      );
    } finally {
      this.#current = undefined;
      this.#log = undefined;
      this.#busy = false;
    }
  }

  /** Ends the process (SIGKILL: Lambda does not ask a sandbox to stop) and its Runtime API. */
  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.#exited;
  }

  #finish(
    log: BoundedLog,
    requestId: string,
    outcome: InvocationOutcome,
    coldStart: boolean,
    initDurationMs: number | undefined,
    durationMs: number,
    timedOut = false,
  ): EnvironmentResult {
    const peak = this.memory()?.peakBytes;
    if (outcome.kind === 'error' && !timedOut && outcome.error.errorType.startsWith('Runtime.')) {
      log.append(
        `RequestId: ${requestId} Error: ${outcome.error.errorMessage}\n${outcome.error.errorType}\n`,
      );
    }
    log.append(endLine(requestId));
    log.append(
      reportLine({
        requestId,
        durationMs,
        memoryMiB: this.#spec.memoryMiB,
        maxMemoryUsedMiB: peak === undefined ? undefined : Math.round(peak / (1024 * 1024)),
        initDurationMs: coldStart ? initDurationMs : undefined,
        ...(timedOut
          ? { status: 'timeout' as const }
          : outcome.kind === 'error'
            ? { status: 'error' as const }
            : {}),
      }),
    );
    if (timedOut)
      log.append(
        `${new Date().toISOString()} ${outcome.kind === 'error' ? outcome.error.errorMessage : ''}\n`,
      );
    return { outcome, log: log.text(), coldStart, initDurationMs, durationMs };
  }

  async #waitForInit(): Promise<InitOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const limit = this.#spec.initTimeoutMs ?? 10_000;
    const timedOut = new Promise<InitOutcome>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'timeout' }), limit);
    });
    try {
      return await Promise.race([this.#init, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Hands the current invocation to the runtime once it is polling `next`. */
  #deliver(): void {
    const current = this.#current;
    const res = this.#parkedNext;
    if (!current || current.delivered || !res) return;
    this.#parkedNext = undefined;
    current.delivered = true;
    const body = Buffer.from(current.payload, 'utf8');
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': String(body.length),
      'Lambda-Runtime-Aws-Request-Id': current.requestId,
      'Lambda-Runtime-Deadline-Ms': String(Date.now() + this.#spec.timeoutMs),
      'Lambda-Runtime-Invoked-Function-Arn': localFunctionArn(this.#spec.functionName),
      'Lambda-Runtime-Trace-Id': traceId(),
    });
    res.end(body);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    if (req.method === 'GET' && path === `${RUNTIME_PATH}invocation/next`) {
      if (!this.#initialized) {
        this.#initialized = true;
        this.#resolveInit({ kind: 'ready' });
      }
      this.#parkedNext = res;
      res.once('close', () => {
        if (this.#parkedNext === res) this.#parkedNext = undefined;
      });
      this.#deliver();
      return;
    }
    if (req.method === 'POST' && path === `${RUNTIME_PATH}init/error`) {
      const body = await readText(req, MAX_ERROR_BODY_BYTES);
      reply(res, 202, { status: 'OK' });
      this.#resolveInit({ kind: 'init-error', body: body ?? '', errorType: errorTypeHeader(req) });
      return;
    }
    const match = req.method === 'POST' ? INVOCATION_PATH.exec(path) : null;
    if (!match?.[1] || !match[2]) {
      reply(res, 404, { errorMessage: `unknown Runtime API path ${path}`, errorType: 'InvalidRequest' });
      return;
    }
    const current = this.#current;
    if (!current?.delivered || decodeURIComponent(match[1]) !== current.requestId) {
      reply(res, 400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
      return;
    }
    if (match[2] === 'response') {
      const body = await readText(req, this.#spec.maxPayloadBytes);
      if (body === undefined) {
        reply(res, 413, {
          errorMessage: `Exceeded maximum allowed payload size (${this.#spec.maxPayloadBytes} bytes).`,
          errorType: 'RequestEntityTooLarge',
        });
        current.settle({ kind: 'too-large' });
        return;
      }
      reply(res, 202, { status: 'OK' });
      current.settle({ kind: 'response', body });
      return;
    }
    const body = await readText(req, MAX_ERROR_BODY_BYTES);
    reply(res, 202, { status: 'OK' });
    current.settle({ kind: 'error', body: body ?? '', errorType: errorTypeHeader(req) });
  }
}

function errorTypeHeader(req: IncomingMessage): string | undefined {
  const value = req.headers['lambda-runtime-function-error-type'];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The body as text, or undefined when it passes the limit. */
async function readText(req: IncomingMessage, limitBytes: number): Promise<string | undefined> {
  try {
    return (await readBodyWithin(req, limitBytes)).toString('utf8');
  } catch {
    return undefined;
  }
}

function reply(res: ServerResponse, status: number, body: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/** The runtime's output of the moment can still be in the pipe when its HTTP call arrives. */
function settleOutput(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 10));
}

function traceId(): string {
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`;
}
