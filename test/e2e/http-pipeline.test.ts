import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/bridge.js';
import { type LambdaEndpoint, startLambdaEndpoint } from '../../bridge/lambda-endpoint/server.js';
import { stageFunctions } from '../../bridge/lambda-endpoint/stage-functions.js';
import { startBridge } from '../helpers/bridge.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { seed } from '../helpers/seed.js';
import { waitFor } from '../helpers/wait.js';

describe('end to end over HTTP: etcd, the local Lambda endpoint, the bridge', () => {
  let fixture: EtcdFixture;
  let endpoint: LambdaEndpoint;
  let bridge: Bridge;
  const invocations: string[] = [];

  beforeAll(async () => {
    fixture = await startEtcd();
    endpoint = await startLambdaEndpoint({
      functions: await stageFunctions(),
      port: 0,
      log: (entry) => {
        if (entry.msg === 'invocation done') invocations.push(String(entry.functionName ?? entry.function));
      },
    });
    bridge = await startBridge(fixture, { invoke: { mode: 'lambda', endpoint: endpoint.url } });
  });

  afterAll(async () => {
    await bridge?.stop();
    await endpoint?.close();
    await stopEtcd(fixture);
  });

  it('a heat stack record in, the state record out, each stage invoked through the Lambda API', async () => {
    // Prepare
    await fixture.client.put(seed.config.key).value(seed.config.value);

    // Act
    await fixture.client.put(seed.heatStack.key).value(seed.heatStack.value);

    // Assess
    const state = await waitFor(
      'the state record',
      async () => (await fixture.client.get(seed.state.key).string()) ?? undefined,
    );
    expect(state).toBe(seed.state.value);
    await waitFor(
      'the job_state delete',
      async () => (await fixture.client.get(seed.jobState.key).string()) === null,
    );
    expect(invocations.length).toBeGreaterThanOrEqual(2);
  });
});
