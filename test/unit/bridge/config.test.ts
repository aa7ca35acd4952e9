import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromFlags } from '../../../bridge/cli/config-flags.js';
import { applyEnvironment, parseBridgeConfig, redactConfig } from '../../../bridge/config.js';
import { ConfigError } from '../../../bridge/errors.js';

describe('bridge configuration', () => {
  it('runs on embedded defaults', () => {
    const config = parseBridgeConfig({});
    expect(config.etcd.endpoints).toEqual(['http://127.0.0.1:2379']);
    expect(config.routes.map((r) => r.name)).toEqual(['heat-stacks', 'job-state']);
    expect(config.invoke.mode).toBe('inprocess');
    expect(config.deadLetter.sink).toBe('etcd');
    expect(config.etcd.maxTxnOps).toBe(128);
  });

  it("takes etcd's --max-txn-ops and names it when it is out of range", () => {
    expect(parseBridgeConfig({ etcd: { maxTxnOps: 512 } }).etcd.maxTxnOps).toBe(512);
    expect(() => parseBridgeConfig({ etcd: { maxTxnOps: 4 } }, 'b.json')).toThrow(/etcd\.maxTxnOps: /);
  });

  it("writes each etcd endpoint out with its port: gRPC would take a port-less one to 443, not etcd's 2379", () => {
    const endpoints = (given: string[]) => parseBridgeConfig({ etcd: { endpoints: given } }).etcd.endpoints;
    expect(
      endpoints(['http://etcd-0', 'https://etcd-1/', 'http://10.0.0.5:12379/', 'https://[::1]']),
    ).toEqual(['http://etcd-0:2379', 'https://etcd-1:2379', 'http://10.0.0.5:12379', 'https://[::1]:2379']);
    // A port that is a scheme's default stays as written (URL parsing would drop it).
    expect(endpoints(['http://etcd-0:80', 'https://etcd-0:443'])).toEqual([
      'http://etcd-0:80',
      'https://etcd-0:443',
    ]);
    for (const bad of [
      'etcd-0:2379',
      'grpc://etcd-0',
      'http://etcd-0/v3',
      'http://etcd-0:99999',
      'http://u@etcd-0',
    ])
      expect(() => parseBridgeConfig({ etcd: { endpoints: [bad] } }), bad).toThrow(
        /etcd\.endpoints\.0: must be http\(s\):\/\/host\[:port\]/,
      );
  });

  it('names every bad field', () => {
    const run = () =>
      parseBridgeConfig(
        { etcd: { endpoints: ['not a url'] }, maxInFlight: 0, routes: [{ name: 'X' }], bogus: 1 },
        'b.json',
      );
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/b\.json is invalid/);
    expect(run).toThrow(/etcd\.endpoints\.0: /);
    expect(run).toThrow(/maxInFlight: /);
    expect(run).toThrow(/routes\.0\.name: /);
    expect(run).toThrow(/bogus/);
  });

  it("refuses duplicate routes and routes over the bridge's own keys", () => {
    const route = { name: 'r', keyPattern: '/a/{id}', function: 'f' };
    expect(() => parseBridgeConfig({ routes: [route, route] })).toThrow(
      /routes\.1\.name: duplicate route name r/,
    );
    expect(() => parseBridgeConfig({ routes: [{ ...route, keyPattern: '/_etcd-bridge/{id}' }] })).toThrow(
      /routes\.0\.keyPattern/,
    );
    // Patterns whose watched prefix covers the bridge's keys, though their text does not start with them.
    for (const keyPattern of ['/{a}/{b}/{c}', '/_etcd-bridge{x}', '/_etcd{x}/{y}'])
      expect(() => parseBridgeConfig({ routes: [{ ...route, keyPattern }] }), keyPattern).toThrow(
        /routes\.0\.keyPattern: must not watch the bridge's own \/_etcd-bridge\//,
      );
    expect(
      parseBridgeConfig({ routes: [{ ...route, keyPattern: '/_etcd-bridge-other/{id}' }] }).routes,
    ).toHaveLength(1);
  });

  it('takes the invoke timeout from INVOKE_TIMEOUT_MS, and names the field when it is not a number', () => {
    const timeout = (value: string) =>
      parseBridgeConfig(applyEnvironment({ invoke: { mode: 'lambda' } }, { INVOKE_TIMEOUT_MS: value }))
        .invoke;
    expect(timeout('910000')).toMatchObject({ mode: 'lambda', timeoutMs: 910_000 });
    expect(() => timeout('15m')).toThrow(/invoke\.timeoutMs: /);
    expect(() => timeout('999999999')).toThrow(/invoke\.timeoutMs: /);
  });

  it("takes a stage's invoke concurrency from <STAGE>_CONCURRENCY, and names the field when it is bad", () => {
    const concurrency = (env: Record<string, string>) =>
      parseBridgeConfig(applyEnvironment({}, env)).routes.map((r) => r.concurrency);
    expect(concurrency({ JOB_STATE_CONCURRENCY: '3' })).toEqual([8, 3]);
    expect(concurrency({ HEAT_STACKS_CONCURRENCY: '1', JOB_STATE_CONCURRENCY: '2' })).toEqual([1, 2]);
    expect(() => concurrency({ HEAT_STACKS_CONCURRENCY: 'eight' })).toThrow(/routes\.0\.concurrency: /);
    expect(() => concurrency({ JOB_STATE_CONCURRENCY: '0' })).toThrow(/routes\.1\.concurrency: /);
  });

  it('takes endpoints, credentials, function names and queue URLs from the environment', () => {
    const raw = applyEnvironment(
      {},
      {
        ETCD_ENDPOINTS: 'https://e1:2379, https://e2:2379',
        ETCD_USERNAME: 'bridge',
        ETCD_PASSWORD: 's3cret',
        BRIDGE_GROUP: 'prod',
        JOB_STATE_FUNCTION_NAME: 'arn:aws:lambda:eu-west-1:1:function:job-state',
        HEAT_STACKS_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/1/heat',
        JOB_STATE_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/1/job',
      },
    );
    const config = parseBridgeConfig(raw);
    expect(config.etcd.endpoints).toEqual(['https://e1:2379', 'https://e2:2379']);
    expect(config.group).toBe('prod');
    expect(config.routes[1]?.function).toBe('arn:aws:lambda:eu-west-1:1:function:job-state');
    expect(config.deadLetter).toMatchObject({
      sink: 'sqs',
      queueUrls: { 'heat-stacks': expect.any(String), 'job-state': expect.any(String) },
    });
    expect(JSON.stringify(redactConfig(config))).not.toContain('s3cret');
  });

  it('the environment comes after the file, and flags after both', async () => {
    const file = {
      invoke: { mode: 'inprocess', endpoint: 'http://127.0.0.1:1' },
      deadLetter: { sink: 'etcd' },
    };
    const env = {
      AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:2',
      HEAT_STACKS_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/1/heat',
      JOB_STATE_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/1/job',
    };
    const config = parseBridgeConfig(applyEnvironment(structuredClone(file), env));
    expect(config.invoke.endpoint).toBe('http://127.0.0.1:2');
    expect(config.deadLetter.sink).toBe('sqs');

    // --lambda-endpoint implies --invoke lambda, over a file that says inprocess.
    const dir = mkdtempSync(join(tmpdir(), 'config-order-'));
    try {
      const path = join(dir, 'config.json');
      writeFileSync(path, JSON.stringify({ invoke: { mode: 'inprocess' } }));
      const flagged = await configFromFlags({ config: path, 'lambda-endpoint': 'http://127.0.0.1:3' });
      expect(flagged.invoke).toMatchObject({ mode: 'lambda', endpoint: 'http://127.0.0.1:3' });
      const explicit = await configFromFlags({
        config: path,
        invoke: 'inprocess',
        'lambda-endpoint': 'http://127.0.0.1:3',
      });
      expect(explicit.invoke.mode).toBe('inprocess');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('routes of the wrong shape are named by the schema, not a crash', async () => {
    for (const routes of [{}, [null], 'heat-stacks']) {
      expect(() =>
        parseBridgeConfig(applyEnvironment({ routes }, { HEAT_STACKS_DLQ_URL: 'https://q' })),
      ).toThrow(/routes/);
    }
    const dir = mkdtempSync(join(tmpdir(), 'config-routes-'));
    try {
      const path = join(dir, 'config.json');
      writeFileSync(path, JSON.stringify({ routes: [null] }));
      await expect(configFromFlags({ config: path, 'start-position': 'earliest' })).rejects.toThrow(
        /routes\.0/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an SQS sink needs a queue per route', () => {
    expect(() => parseBridgeConfig({ deadLetter: { sink: 'sqs', queueUrls: {} } })).toThrow(
      /deadLetter\.queueUrls\.heat-stacks/,
    );
  });
});
