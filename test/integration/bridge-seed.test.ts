import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/bridge.js';
import { startBridge } from '../helpers/bridge.js';
import { type EtcdFixture, history, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { seed } from '../helpers/seed.js';
import { waitFor } from '../helpers/wait.js';

describe('bridge on a real etcd: the seed operation', () => {
  let fixture: EtcdFixture;
  let bridge: Bridge;

  beforeAll(async () => {
    fixture = await startEtcd();
    bridge = await startBridge(fixture);
  });

  afterAll(async () => {
    await bridge?.stop();
    await stopEtcd(fixture);
  });

  it('turns the heat stack record into the job_state and state records, byte for byte, and deletes job_state', async () => {
    // Prepare
    const { client } = fixture;
    await client.put(seed.config.key).value(seed.config.value);
    await client.put(seed.jobState.key).value('{}');

    // Act
    await client.put(seed.heatStack.key).value(seed.heatStack.value);

    // Assess
    const state = await waitFor('the state record', () =>
      client
        .get(seed.state.key)
        .string()
        .then((v) => v ?? undefined),
    );
    expect(state).toBe(seed.state.value);
    await waitFor(
      'the job_state delete',
      async () => (await client.get(seed.jobState.key).string()) === null,
    );
    const writes = (await history(client, '/')).filter((e) => !e.key.startsWith('/_etcd-bridge/'));
    expect(writes.map((e) => [e.type, e.key, e.type === 'put' ? e.value : ''])).toEqual([
      ['put', seed.config.key, seed.config.value],
      ['put', seed.jobState.key, '{}'],
      ['put', seed.heatStack.key, seed.heatStack.value],
      ['put', seed.jobState.key, seed.jobState.value],
      ['put', seed.state.key, seed.state.value],
      ['delete', seed.jobState.key, ''],
    ]);
    // The {} placeholder reached job-state too: nothing to write, so nothing committed for it.
    expect(bridge.status().map((s) => [s.stats.committed, s.stats.noop])).toEqual([
      [1, 0],
      [1, 1],
    ]);
  });
});
