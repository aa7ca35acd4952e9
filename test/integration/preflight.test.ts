/**
 * `etcd-bridge start` refuses, before it campaigns, what would dead-letter every record: a function
 * that does not resolve, missing credentials, an SQS dead-letter queue that does not answer, a busy
 * port. Each exits 2 within 10 s naming the route, the function or queue and the setting to change,
 * and nothing is dead-lettered (a heat stack record waits in etcd all along).
 *
 * Real etcd, the real local Lambda endpoint over HTTP, a queue URL on a closed loopback port.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../bridge/etcd/embedded-etcd.js';
import { keyspaceFor } from '../../bridge/keyspace.js';
import { type LambdaEndpoint, startLambdaEndpoint } from '../../bridge/lambda-endpoint/server.js';
import { stageFunctions } from '../../bridge/lambda-endpoint/stage-functions.js';
import { runCli } from '../helpers/cli.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { Fauxqs, fauxqsEnv } from '../helpers/fauxqs.js';
import { heatStackText } from '../helpers/records.js';
import { waitFor } from '../helpers/wait.js';

const ENTRY = fileURLToPath(new URL('../../bridge/cli/entry.ts', import.meta.url));

/** The AWS settings of this machine stay out of the child: each test says what it has. */
const NO_AWS: NodeJS.ProcessEnv = {
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_REGION: undefined,
  AWS_DEFAULT_REGION: undefined,
  AWS_ENDPOINT_URL_LAMBDA: undefined,
  HEAT_STACKS_FUNCTION_NAME: undefined,
  JOB_STATE_FUNCTION_NAME: undefined,
  HEAT_STACKS_DLQ_URL: undefined,
  JOB_STATE_DLQ_URL: undefined,
  ETCD_ENDPOINTS: undefined,
  BRIDGE_GROUP: undefined,
  AWS_EC2_METADATA_DISABLED: 'true',
};

describe('start: preflight', () => {
  let fixture: EtcdFixture;
  let endpoint: LambdaEndpoint;
  let home: string;
  let group = 0;

  beforeAll(async () => {
    fixture = await startEtcd();
    endpoint = await startLambdaEndpoint({ functions: await stageFunctions(), port: 0 });
    home = await mkdtemp(join(tmpdir(), 'preflight-home-'));
    // Something to dead-letter, were the bridge to start: a heat stack record under the route's prefix.
    await fixture.client.put('/esi-worker/heat_stacks/v2.0/ports/preflight-1').value(heatStackText({}));
  });
  afterAll(async () => {
    await endpoint?.close();
    await stopEtcd(fixture);
    await rm(home, { recursive: true, force: true });
  });

  /** `start` in a group of its own, from the earliest revision; its exit, output and time taken. */
  async function start(args: string[], env: NodeJS.ProcessEnv = {}) {
    const name = `preflight-${++group}`;
    const began = Date.now();
    const result = await runCli(
      [
        'start',
        '--etcd',
        fixture.etcd.clientUrl,
        '--group',
        name,
        '--start-position',
        'earliest',
        '--metrics-port',
        '0',
        ...args,
      ],
      // No shared config or credentials of this machine's user: an empty HOME.
      { env: { ...NO_AWS, HOME: home, ...env }, timeoutMs: 30_000 },
    );
    const seconds = (Date.now() - began) / 1000;
    const root = keyspaceFor(name).root;
    const bookkeeping = await fixture.client.getAll().prefix(root).keys();
    return { ...result, seconds, bookkeeping };
  }

  it('a Lambda function that does not exist at the endpoint: exit 2 naming the route, the function and the variable', async () => {
    const r = await start(['--lambda-endpoint', endpoint.url], {
      HEAT_STACKS_FUNCTION_NAME: 'no-such-function',
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.seconds).toBeLessThan(10);
    expect(r.stderr).toContain('route heat-stacks');
    expect(r.stderr).toContain('"no-such-function" not found');
    expect(r.stderr).toContain('HEAT_STACKS_FUNCTION_NAME');
    expect(r.stderr).not.toContain('route job-state'); // job-state resolves
    expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
    // Nothing campaigned, checkpointed or dead-lettered.
    expect(r.bookkeeping).toEqual([]);
  });

  it('a Lambda endpoint that does not answer: exit 2 naming it and the setting', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const r = await start(['--lambda-endpoint', closed]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.seconds).toBeLessThan(10);
    expect(r.stderr).toContain(`cannot reach the Lambda API at ${closed}`);
    expect(r.stderr).toContain('--lambda-endpoint');
    expect(r.bookkeeping).toEqual([]);
  });

  it('an in-process function that is not a stage: exit 2 naming the route and the config field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'preflight-config-'));
    const config = join(dir, 'bridge.json');
    await writeFile(
      config,
      JSON.stringify({
        routes: [
          {
            name: 'heat-stacks',
            keyPattern: '/esi-worker/heat_stacks/{api}/{collection}/{id}',
            function: 'heat-stack',
          },
        ],
      }),
    );
    const r = await start(['--config', config]);
    await rm(dir, { recursive: true, force: true });
    expect(r.code, r.stderr).toBe(2);
    expect(r.seconds).toBeLessThan(10);
    expect(r.stderr).toContain('no in-process function named "heat-stack"');
    expect(r.stderr).toContain('routes[0].function');
    expect(r.bookkeeping).toEqual([]);
  });

  it('no AWS credentials: exit 2 naming the variables to set', async () => {
    const r = await start(['--invoke', 'lambda'], { AWS_REGION: 'eu-west-1' });
    expect(r.code, r.stderr).toBe(2);
    expect(r.seconds).toBeLessThan(10);
    expect(r.stderr).toContain('no AWS credentials');
    expect(r.stderr).toContain('AWS_ACCESS_KEY_ID');
    expect(r.bookkeeping).toEqual([]);
  });

  it('no AWS region: exit 2 naming AWS_REGION', async () => {
    const r = await start(['--invoke', 'lambda'], { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('no AWS region');
    expect(r.stderr).toContain('AWS_REGION');
    expect(r.bookkeeping).toEqual([]);
  });

  it('an SQS dead-letter queue that does not answer: exit 2 naming the route, the queue and the variable', async () => {
    const closed = await freePort();
    const url = (name: string) => `http://127.0.0.1:${closed}/000000000000/${name}`;
    const r = await start([], {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'y',
      HEAT_STACKS_DLQ_URL: url('heat-stacks-dlq'),
      JOB_STATE_DLQ_URL: url('job-state-dlq'),
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.seconds).toBeLessThan(10);
    expect(r.stderr).toContain(`route heat-stacks: dead-letter queue ${url('heat-stacks-dlq')}`);
    expect(r.stderr).toContain('GetQueueAttributes');
    expect(r.stderr).toContain('HEAT_STACKS_DLQ_URL');
    expect(r.stderr).toContain('JOB_STATE_DLQ_URL');
    expect(r.bookkeeping).toEqual([]);
  });

  describe('a busy port', () => {
    let server: Server;
    let port: number;
    beforeAll(async () => {
      server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('the metrics port: exit 2 naming the port and --metrics-port, no stack trace', async () => {
      const r = await start(['--metrics-port', String(port)]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.seconds).toBeLessThan(10);
      expect(r.stderr).toContain(`127.0.0.1:${port} is already in use`);
      expect(r.stderr).toContain('--metrics-port');
      expect(r.stderr).toContain('0 turns it off');
      expect(r.stderr).not.toContain('EADDRINUSE');
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.bookkeeping).toEqual([]);
    });

    it('the Lambda endpoint port: exit 2 naming the port and --port', async () => {
      const r = await runCli(['lambda-endpoint', '--port', String(port)], { timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`127.0.0.1:${port} is already in use`);
      expect(r.stderr).toContain('--port');
    });
  });

  /** `start` until it is elected (its preflight passed), then SIGTERM: its exit code. */
  async function startUntilElected(args: string[], env: NodeJS.ProcessEnv): Promise<number | null> {
    const name = `preflight-${++group}`;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        ENTRY,
        'start',
        '--etcd',
        fixture.etcd.clientUrl,
        '--group',
        name,
        '--metrics-port',
        '0',
        ...args,
      ],
      { env: { ...process.env, ...NO_AWS, HOME: home, ...env }, stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(
        'the bridge to be elected',
        async () => {
          if (child.exitCode !== null)
            throw new Error(`start exited ${child.exitCode} before it was elected`);
          const keys = await fixture.client
            .getAll()
            .prefix(`${keyspaceFor(name).root}election/`)
            .keys();
          return keys.length > 0 ? keys : undefined;
        },
        30_000,
        100,
      );
    } finally {
      child.kill('SIGTERM');
    }
    return exited;
  }

  it('--skip-preflight: the same start campaigns and works (and drains on SIGTERM, exit 0)', async () => {
    const code = await startUntilElected(['--lambda-endpoint', endpoint.url, '--skip-preflight'], {
      HEAT_STACKS_FUNCTION_NAME: 'no-such-function',
    });
    expect(code).toBe(0);
  }, 60_000);

  it('passes with functions at the endpoint and SQS queues that answer (fauxqs)', async () => {
    const fauxqs = await Fauxqs.start();
    try {
      const code = await startUntilElected(['--lambda-endpoint', endpoint.url], {
        ...fauxqsEnv(fauxqs.endpoint),
        HEAT_STACKS_DLQ_URL: await fauxqs.createQueue('heat-stacks-dlq'),
        JOB_STATE_DLQ_URL: await fauxqs.createQueue('job-state-dlq'),
      });
      expect(code).toBe(0);
    } finally {
      await fauxqs.stop();
    }
  }, 90_000);
});
