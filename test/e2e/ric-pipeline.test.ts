/**
 * What ships, end to end: the bundles `cdk synth` makes (built on demand, cached by the sources'
 * hash) → `--runtime ric` execution environments (aws-lambda-ric on Node 24) → the bridge invoking
 * them through @aws-sdk/client-lambda → the seed's records (2) and (3), byte for byte. The same
 * endpoint also hosts the test-only handler, for the errors AWS gives on a timeout and a crash.
 *
 * It prints the cold and warm invoke times and the memory of one environment (docs/local-lambda.md).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvokeCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/bridge.js';
import { playSeed } from '../../bridge/demo/play-seed.js';
import { deployableStageFunctions } from '../../bridge/lambda-endpoint/runtime/deployable.js';
import {
  type InvocationReport,
  type RuntimeHost,
  runtimeHost,
} from '../../bridge/lambda-endpoint/runtime/runtime-host.js';
import { ensureRuntimeTools } from '../../bridge/lambda-endpoint/runtime/runtime-tools.js';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  type LambdaEndpoint,
  startLambdaEndpoint,
} from '../../bridge/lambda-endpoint/server.js';
import { runReplay } from '../../bridge/replay/run.js';
import { parseTrace } from '../../bridge/replay/trace.js';
import { startBridge } from '../helpers/bridge.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { seed } from '../helpers/seed.js';

const FIXTURE_ROOT = fileURLToPath(new URL('../fixtures/ric/handler', import.meta.url));
/** The first run synthesizes the app (~15-40 s on a busy 2-core machine). */
const BUILD_TIMEOUT_MS = 240_000;

describe('end to end on what ships: cdk synth bundles under aws-lambda-ric on Node 24, the bridge over the Lambda API', () => {
  let fixture: EtcdFixture;
  let host: RuntimeHost;
  let endpoint: LambdaEndpoint;
  let bridge: Bridge;
  let lambda: LambdaClient;
  const reports: InvocationReport[] = [];

  beforeAll(async () => {
    fixture = await startEtcd();
    const stages = await deployableStageFunctions({ progress: () => {} });
    host = runtimeHost({
      functions: [
        ...stages,
        {
          name: 'test-fixture',
          taskRoot: FIXTURE_ROOT,
          handler: 'index.handler',
          runtime: 'nodejs24.x',
          memoryMiB: 128,
          timeoutSeconds: 1,
          environment: {},
          logFormat: 'Text',
          reservedConcurrency: undefined,
        },
      ],
      tools: await ensureRuntimeTools(),
      maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
      onInvocation: (report) => reports.push(report),
    });
    endpoint = await startLambdaEndpoint({ functionHost: host, port: 0, log: () => {} });
    lambda = new LambdaClient({
      endpoint: endpoint.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await bridge?.stop();
    lambda?.destroy();
    await endpoint?.close();
    if (fixture) await stopEtcd(fixture);
  });

  it('the template gives each stage its bundle, Handler, MemorySize, Timeout and Environment', async () => {
    const stages = await deployableStageFunctions({ progress: () => {} });
    expect(stages.map((s) => s.name).sort()).toEqual(['heat-stacks', 'job-state']);
    for (const stage of stages) {
      expect(stage.runtime).toBe('nodejs24.x');
      expect(stage.handler).toBe('index.handler');
      expect(stage.environment.POWERTOOLS_SERVICE_NAME).toBe(stage.name);
      expect(stage.taskRoot).toMatch(/\/asset\.[0-9a-f]{64}$/);
    }
  });

  it("the seed through the bridge: records (2) and (3) are the seed's, byte for byte", async () => {
    // Prepare
    bridge = await startBridge(fixture, { invoke: { mode: 'lambda', endpoint: endpoint.url } });

    // Act
    const shown = await playSeed(bridge);

    // Assess
    const [, jobState, state] = shown;
    expect(jobState?.stored).toBe(seed.jobState.value);
    expect(state?.stored).toBe(seed.state.value);
    expect(await fixture.client.get(seed.jobState.key).string()).toBeNull();
    const ran = new Set(reports.filter((r) => r.errorType === undefined).map((r) => r.functionName));
    expect(ran).toEqual(new Set(['heat-stacks', 'job-state']));
  });

  it('cold and warm invoke times and the memory of one environment', async () => {
    // A batch of one, the seed's heat stack record, straight through the SDK.
    const batch = JSON.stringify({
      route: 'heat-stacks',
      records: [
        {
          id: '1',
          type: 'put',
          key: seed.heatStack.key,
          value: seed.heatStack.value,
          modRevision: '7',
          reads: {},
        },
      ],
    });
    const call = async (): Promise<number> => {
      const started = performance.now();
      const out = await lambda.send(
        new InvokeCommand({ FunctionName: 'heat-stacks', Payload: Buffer.from(batch) }),
      );
      expect(out.FunctionError).toBeUndefined();
      const response = JSON.parse(Buffer.from(out.Payload ?? []).toString()) as {
        results: Array<{ mutations: Array<{ value?: string }> }>;
      };
      expect(response.results[0]?.mutations[0]?.value).toBe(seed.jobState.value);
      return performance.now() - started;
    };
    // A cold start: every environment of the function is stopped first.
    const pool = host.pool('heat-stacks');
    await Promise.all((pool?.environments() ?? []).map((environment) => environment.kill()));
    const cold = await call();
    const warm: number[] = [];
    for (let i = 0; i < 20; i++) warm.push(await call());
    warm.sort((a, b) => a - b);
    const environment = pool?.environments().find((e) => !e.dead);
    const memory = environment?.memory();
    expect(memory?.rssBytes).toBeGreaterThan(0);
    const mib = (bytes: number | undefined): string => ((bytes ?? 0) / 2 ** 20).toFixed(0);
    process.stdout.write(
      `ric figures: cold invoke ${cold.toFixed(0)} ms (init ${reports
        .filter((r) => r.coldStart && r.functionName === 'heat-stacks')
        .at(-1)
        ?.initDurationMs?.toFixed(0)} ms), ` +
        `warm invoke p50 ${warm[10]?.toFixed(1)} ms, p95 ${warm[19]?.toFixed(1)} ms; ` +
        `one environment RSS ${mib(memory?.rssBytes)} MiB (peak ${mib(memory?.peakBytes)} MiB)\n`,
    );
  });

  it('replay through the deployable bundles: every expected write of each example trace matches, as in-process', async () => {
    for (const name of ['seed-operation.jsonl', 'port-rollback.jsonl', 'multi-resource.jsonl']) {
      const path = fileURLToPath(new URL(`../../examples/traces/${name}`, import.meta.url));
      // The replay closes its endpoint and so its host: lend it ours without letting it stop it.
      const result = await runReplay({
        trace: parseTrace(readFileSync(path, 'utf8'), path),
        invoke: 'lambda',
        functionHost: { ...host, close: async () => {} },
      });
      expect(result.mismatches).toEqual([]);
      expect(result.matched).toBe(result.expected);
      expect(result.expected).toBeGreaterThan(0);
    }
  });

  it('a function timeout, a crash and an unknown function give the errors AWS gives', async () => {
    const send = (FunctionName: string, payload: unknown) =>
      lambda.send(new InvokeCommand({ FunctionName, Payload: Buffer.from(JSON.stringify(payload)) }));
    const parse = (payload: Uint8Array | undefined): unknown =>
      JSON.parse(Buffer.from(payload ?? []).toString());

    const timedOut = await send('test-fixture', { action: 'sleep', ms: 5000 });
    expect(timedOut.FunctionError).toBe('Unhandled');
    expect(parse(timedOut.Payload)).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: `RequestId: ${timedOut.$metadata.requestId} Error: Task timed out after 1.00 seconds`,
    });

    const crashed = await send('test-fixture', { action: 'crash' });
    expect(crashed.FunctionError).toBe('Unhandled');
    expect(parse(crashed.Payload)).toEqual({
      errorType: 'Runtime.ExitError',
      errorMessage: `RequestId: ${crashed.$metadata.requestId} Error: Runtime exited with error: exit status 3`,
    });

    const unknown = await send('no-such-function', {}).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ResourceNotFoundException);
    expect((unknown as ResourceNotFoundException).$metadata.httpStatusCode).toBe(404);
  });
});
