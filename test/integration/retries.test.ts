/**
 * Retries on a real etcd (DESIGN §4 invariant 7): a function that throws or times out is retried
 * with backoff and dead-lettered after maxAttempts (or maxRecordAgeMs); one behind the local Lambda
 * endpoint that is throttled (429 TooManyRequestsException) is retried and succeeds once the
 * throttling stops.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Bridge } from '../../bridge/bridge.js';
import { EtcdDeadLetterSink } from '../../bridge/dlq/etcd-sink.js';
import type { DeadLetterRecord } from '../../bridge/dlq/record.js';
import { InProcessInvoker } from '../../bridge/invoke/in-process.js';
import type { LambdaHandler } from '../../bridge/invoke/lambda-context.js';
import { LambdaInvoker } from '../../bridge/invoke/lambda-sdk.js';
import { keyspaceFor } from '../../bridge/keyspace.js';
import { type LambdaEndpoint, startLambdaEndpoint } from '../../bridge/lambda-endpoint/server.js';
import { loadStageHandler } from '../../bridge/stages.js';
import {
  DEFAULT_ROUTES,
  type RouteInput,
  type StageRequest,
  type StageResponse,
} from '../../shared/index.js';
import { startBridge } from '../helpers/bridge.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { heatStackText } from '../helpers/records.js';
import { waitFor } from '../helpers/wait.js';

/** A stage that copies `/retry/<test>/in/<id>` to `/retry/<test>/out/<id>`. */
const echo = async (event: unknown): Promise<StageResponse> => {
  const request = event as StageRequest;
  return {
    results: request.records.map((r) => ({
      id: r.id,
      mutations: [{ op: 'put' as const, key: r.key.replace('/in/', '/out/'), value: r.value ?? '' }],
    })),
    batchItemFailures: [],
  };
};

/** A function that fails `failures` times (by `fail`), then answers as `then` does; it notes when it is called. */
function flaky(failures: number, fail: () => Promise<never>, then: LambdaHandler = echo) {
  const calls: number[] = [];
  const handler: LambdaHandler = async (event, context) => {
    calls.push(Date.now());
    if (calls.length <= failures) return fail();
    return then(event, context);
  };
  return { calls, handler };
}

const boom = () => Promise.reject(new Error('boom: the function is broken'));

function echoRoute(name: string, fn: string, retry: RouteInput['retry']): RouteInput {
  return { name, keyPattern: `/retry/${name}/in/{id}`, function: fn, retry, batchWindowMs: 0 };
}

describe('retries on a real etcd', () => {
  let fixture: EtcdFixture;
  let bridge: Bridge | undefined;

  beforeAll(async () => {
    fixture = await startEtcd();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await bridge?.stop();
    bridge = undefined;
  });
  afterAll(async () => {
    await stopEtcd(fixture);
  });

  async function deadLetters(group: string, expected = 1): Promise<DeadLetterRecord[]> {
    const sink = new EtcdDeadLetterSink(fixture.client, keyspaceFor(group));
    return waitFor(`${expected} dead-letter record(s)`, async () => {
      const entries = await sink.list();
      return entries.length >= expected ? entries.map((e) => e.record) : undefined;
    });
  }

  it('retries a function that throws with exponential backoff, then dead-letters it after maxAttempts', async () => {
    // Prepare: random() at its top, so every backoff delay is its ceiling: 40, 80, 160 ms
    vi.spyOn(Math, 'random').mockReturnValue(0.999_999);
    const group = 'throws';
    const fn = flaky(Number.POSITIVE_INFINITY, boom);
    bridge = await startBridge(
      fixture,
      {
        group,
        routes: [
          echoRoute('throws', 'always-throws', { maxAttempts: 4, initialDelayMs: 40, maxDelayMs: 1_000 }),
        ],
      },
      { invoker: new InProcessInvoker(5_000, { 'always-throws': fn.handler }) },
    );

    // Act
    await fixture.client.put('/retry/throws/in/k1').value('v1');

    // Assess
    const [record] = await deadLetters(group);
    expect(fn.calls).toHaveLength(4);
    expect(record).toMatchObject({
      route: 'throws',
      key: '/retry/throws/in/k1',
      value: 'v1',
      errorType: 'Unhandled',
      attempts: 4,
    });
    expect(record?.errorMessage).toContain('boom: the function is broken');
    expect(record?.errorMessage).toContain('retries exhausted after 4 attempts');
    const gaps = fn.calls.slice(1).map((t, i) => t - fn.calls[i]!);
    [40, 80, 160].forEach((ceiling, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(ceiling - 5);
      expect(gaps[i]).toBeLessThan(ceiling + 250);
    });
    expect(Date.parse(record!.lastAttemptAt) - Date.parse(record!.firstAttemptAt)).toBeGreaterThanOrEqual(
      270,
    );
    // (the counters move just after the commit that made the entry visible)
    const stats = bridge.route('throws')!.stats;
    await waitFor('the dead-letter counted', () => stats.deadLettered === 1);
    expect(stats).toMatchObject({ retries: 3, deadLettered: 1, invokeErrors: 4 });
    expect(await fixture.client.get('/retry/throws/out/k1').string()).toBeNull();
  });

  it('a response that answers a record twice is invalid: retried, dead-lettered, never committed', async () => {
    // Twice in `results` used to commit the record twice (the second copy's marker compare used the
    // first one's revision) and then end the process on an unhandled rejection.
    const group = 'answers-twice';
    const twice: LambdaHandler = async (event) => {
      const response = await echo(event);
      return { ...response, results: response.results.flatMap((r) => [r, r]) };
    };
    bridge = await startBridge(
      fixture,
      {
        group,
        routes: [echoRoute('twice', 'answers-twice', { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 50 })],
      },
      { invoker: new InProcessInvoker(5_000, { 'answers-twice': twice }) },
    );

    await fixture.client.put('/retry/twice/in/k1').value('v1');

    const [record] = await deadLetters(group);
    expect(record).toMatchObject({ route: 'twice', key: '/retry/twice/in/k1', attempts: 2 });
    expect(record?.errorMessage).toContain('answers record(s) 0 more than once');
    expect(await fixture.client.get('/retry/twice/out/k1').string()).toBeNull();
  });

  it('commits a record whose function recovers within its attempts, and dead-letters nothing', async () => {
    const group = 'recovers';
    const fn = flaky(2, boom);
    bridge = await startBridge(
      fixture,
      {
        group,
        routes: [
          echoRoute('recovers', 'twice-broken', { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 50 }),
        ],
      },
      { invoker: new InProcessInvoker(5_000, { 'twice-broken': fn.handler }) },
    );
    await fixture.client.put('/retry/recovers/in/k1').value('v1');

    await waitFor(
      'the output',
      async () => (await fixture.client.get('/retry/recovers/out/k1').string()) ?? undefined,
    );
    expect(fn.calls).toHaveLength(3);
    const stats = bridge.route('recovers')!.stats;
    await waitFor('the commit counted', () => stats.committed === 1);
    expect(stats).toMatchObject({ retries: 2, committed: 1, deadLettered: 0 });
    expect(await new EtcdDeadLetterSink(fixture.client, keyspaceFor(group)).list()).toEqual([]);
  });

  it('dead-letters a record older than maxRecordAgeMs before maxAttempts are used up', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999_999);
    const group = 'too-old';
    const fn = flaky(Number.POSITIVE_INFINITY, boom);
    bridge = await startBridge(
      fixture,
      {
        group,
        routes: [
          echoRoute('too-old', 'always-throws', {
            maxAttempts: 100,
            initialDelayMs: 60,
            maxDelayMs: 60,
            maxRecordAgeMs: 300,
          }),
        ],
      },
      { invoker: new InProcessInvoker(5_000, { 'always-throws': fn.handler }) },
    );
    await fixture.client.put('/retry/too-old/in/k1').value('v1');

    const [record] = await deadLetters(group);
    expect(record?.errorMessage).toContain('record older than maxRecordAgeMs (300 ms)');
    // Every retry waits 60 ms, and none may start past 300 ms: at most 5 retries after the first attempt.
    expect(record?.attempts).toBeGreaterThanOrEqual(2);
    expect(record?.attempts).toBeLessThanOrEqual(6);
    expect(fn.calls).toHaveLength(record!.attempts);
  });

  it('retries a function that times out, then dead-letters it with the timeout error', async () => {
    const group = 'times-out';
    const fn = flaky(Number.POSITIVE_INFINITY, () => new Promise<never>(() => {}));
    bridge = await startBridge(
      fixture,
      {
        group,
        routes: [echoRoute('times-out', 'hangs', { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 })],
      },
      { invoker: new InProcessInvoker(150, { hangs: fn.handler }) },
    );
    await fixture.client.put('/retry/times-out/in/k1').value('v1');

    const [record] = await deadLetters(group);
    expect(fn.calls).toHaveLength(3);
    expect(record).toMatchObject({
      errorType: 'Sandbox.Timedout',
      attempts: 3,
      key: '/retry/times-out/in/k1',
    });
    expect(record?.errorMessage).toContain('timed out after 150 ms');
    // Each attempt waited its 150 ms before the next began.
    expect(fn.calls[2]! - fn.calls[0]!).toBeGreaterThanOrEqual(2 * 150 - 5);
  });
});

/**
 * An HTTP front for the local Lambda endpoint that answers the first `throttle` invocations as
 * Lambda does when a function's concurrency is exhausted (429, TooManyRequestsException), and
 * passes the others through.
 */
async function throttlingProxy(target: LambdaEndpoint) {
  const state = { throttle: 0, throttled: 0, passed: 0 };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (state.throttle > 0) {
        state.throttle--;
        state.throttled++;
        res.writeHead(429, {
          'content-type': 'application/json',
          'x-amzn-ErrorType': 'TooManyRequestsException',
          'x-amzn-RequestId': `throttled-${state.throttled}`,
        });
        res.end(
          JSON.stringify({
            Type: 'User',
            message: 'Rate Exceeded.',
            Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
          }),
        );
        return;
      }
      state.passed++;
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers))
        if (typeof value === 'string' && !['host', 'content-length', 'connection'].includes(name))
          headers[name] = value;
      fetch(`${target.url}${req.url}`, { method: req.method ?? 'POST', headers, body: Buffer.concat(chunks) })
        .then(async (answer) => {
          const out: Record<string, string> = {};
          answer.headers.forEach((value, name) => {
            if (!['content-length', 'connection', 'keep-alive', 'transfer-encoding'].includes(name))
              out[name] = value;
          });
          res.writeHead(answer.status, out);
          res.end(Buffer.from(await answer.arrayBuffer()));
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('throttling behind the local Lambda endpoint', () => {
  let fixture: EtcdFixture;
  let endpoint: LambdaEndpoint;
  let proxy: Awaited<ReturnType<typeof throttlingProxy>>;
  let bridge: Bridge | undefined;

  beforeAll(async () => {
    fixture = await startEtcd();
    endpoint = await startLambdaEndpoint({
      functions: [{ name: 'heat-stacks', handler: await loadStageHandler('heat-stacks'), timeoutMs: 10_000 }],
      port: 0,
      log: () => {},
    });
    proxy = await throttlingProxy(endpoint);
  });
  afterEach(async () => {
    await bridge?.stop();
    bridge = undefined;
  });
  afterAll(async () => {
    await proxy?.close();
    await endpoint?.close();
    await stopEtcd(fixture);
  });

  const heatRoute = (retry: RouteInput['retry']): RouteInput => ({
    ...DEFAULT_ROUTES[0]!,
    retry,
    batchWindowMs: 0,
  });
  const invoker = () => new LambdaInvoker({ endpoint: proxy.url, region: 'us-east-1', timeoutMs: 10_000 });

  it('retries a throttled invocation (429 TooManyRequestsException) and succeeds when the throttling stops', async () => {
    // Prepare
    const group = 'throttled';
    bridge = await startBridge(
      fixture,
      { group, routes: [heatRoute({ maxAttempts: 8, initialDelayMs: 20, maxDelayMs: 100 })] },
      { invoker: invoker() },
    );
    proxy.state.throttle = 3;
    proxy.state.throttled = 0;
    proxy.state.passed = 0;

    // Act
    await fixture.client.put('/esi-worker/heat_stacks/v2.0/ports/throttled-1').value(heatStackText({}));

    // Assess
    const jobState = await waitFor(
      'the job_state record',
      async () =>
        (await fixture.client.get('/esi-worker/job_state/v2.0/ports/throttled-1').string()) ?? undefined,
    );
    expect(jobState).toContain('"orchestration_state": "CREATE_COMPLETE"');
    expect(proxy.state.throttled).toBe(3);
    expect(proxy.state.passed).toBe(1);
    const stats = bridge.route('heat-stacks')!.stats;
    await waitFor('the commit counted', () => stats.committed === 1);
    expect(stats).toMatchObject({
      retries: 3,
      invokeErrors: 3,
      committed: 1,
      deadLettered: 0,
    });
    expect(await new EtcdDeadLetterSink(fixture.client, keyspaceFor(group)).list()).toEqual([]);
  });

  it('dead-letters with TooManyRequestsException when the throttling outlasts maxAttempts', async () => {
    const group = 'throttled-for-good';
    bridge = await startBridge(
      fixture,
      { group, routes: [heatRoute({ maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 })] },
      { invoker: invoker() },
    );
    proxy.state.throttle = Number.POSITIVE_INFINITY;
    proxy.state.passed = 0;
    try {
      await fixture.client.put('/esi-worker/heat_stacks/v2.0/ports/throttled-2').value(heatStackText({}));
      const sink = new EtcdDeadLetterSink(fixture.client, keyspaceFor(group));
      const [entry] = await waitFor('the dead-letter entry', async () => {
        const entries = await sink.list();
        return entries.length > 0 ? entries : undefined;
      });
      expect(entry?.record).toMatchObject({ errorType: 'TooManyRequestsException', attempts: 3 });
      expect(entry?.record.errorMessage).toContain('Rate Exceeded.');
      expect(proxy.state.passed).toBe(0);
    } finally {
      proxy.state.throttle = 0;
    }
  });
});
