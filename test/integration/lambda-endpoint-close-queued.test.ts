/**
 * Closing the endpoint with Event invocations queued behind a busy function (`--runtime ric`,
 * reserved concurrency 1): the one running finishes, the ones still waiting for an environment are
 * dropped (as those waiting for a retry are), so close() is bounded by one function timeout, not by
 * the whole queue run one after another.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runtimeHost } from '../../bridge/lambda-endpoint/runtime/runtime-host.js';
import { ensureRuntimeTools } from '../../bridge/lambda-endpoint/runtime/runtime-tools.js';
import { DEFAULT_MAX_PAYLOAD_BYTES, startLambdaEndpoint } from '../../bridge/lambda-endpoint/server.js';
import { waitFor } from '../helpers/wait.js';

const TASK_ROOT = fileURLToPath(new URL('../fixtures/ric/handler', import.meta.url));

describe('endpoint close with Event invocations waiting for capacity', () => {
  it('drops the waiting ones instead of running them all first', async () => {
    const started: string[] = [];
    const host = runtimeHost({
      functions: [
        {
          name: 'single',
          taskRoot: TASK_ROOT,
          handler: 'index.handler',
          runtime: 'nodejs24.x',
          memoryMiB: 128,
          timeoutSeconds: 10,
          environment: {},
          logFormat: 'Text',
          reservedConcurrency: 1,
        },
      ],
      tools: await ensureRuntimeTools(),
      maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
      onInvocation: (report) => started.push(report.requestId),
    });
    const logs: Array<Record<string, unknown>> = [];
    const endpoint = await startLambdaEndpoint({ functionHost: host, port: 0, log: (e) => logs.push(e) });
    const event = JSON.stringify({ action: 'sleep', ms: 1500 });
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${endpoint.url}/2015-03-31/functions/single/invocations`, {
        method: 'POST',
        headers: { 'X-Amz-Invocation-Type': 'Event' },
        body: event,
      });
      expect(res.status).toBe(202);
    }
    // The first is running (its environment up and the sleep begun), three wait behind it.
    await waitFor(
      'the first invocation running',
      () => (host.pool('single')?.size ?? 0) === 1 && logs.some((e) => e.msg === 'invocation queued'),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));

    const t0 = Date.now();
    await endpoint.close();
    const tookMs = Date.now() - t0;

    // One 1.5 s invocation (plus a cold start) at most, not four in a row (6 s+).
    expect(tookMs).toBeLessThan(3500);
    expect(started.length).toBeLessThanOrEqual(1);
    expect(logs.filter((e) => e.msg === 'async invocation crashed')).toEqual([]);
    expect(logs.filter((e) => e.msg === 'async invocation dropped at shutdown')).toHaveLength(3);
  }, 30_000);
});
