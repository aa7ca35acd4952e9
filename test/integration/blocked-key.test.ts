/**
 * onFailure "block": the failing key stops, retried, "while others flow" (README). A blocked key must
 * not stop the route's other keys once maxInFlight records have been handled after it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/bridge.js';
import type { Invoker } from '../../bridge/invoke/invoker.js';
import type { StageRequest, StageResponse } from '../../shared/index.js';
import { startBridge } from '../helpers/bridge.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { waitFor } from '../helpers/wait.js';

/** Copies each record to /blk/out/<id>; fails /blk/src/bad for good. */
const copyButBad: Invoker = {
  async invoke(_name: string, request: StageRequest): Promise<StageResponse> {
    const bad = request.records.filter((record) => record.key.endsWith('/bad'));
    return {
      results: request.records
        .filter((record) => !bad.includes(record))
        .map((record) => ({
          id: record.id,
          mutations: [
            { op: 'put', key: record.key.replace('/blk/src/', '/blk/out/'), value: record.value ?? '' },
          ],
        })),
      batchItemFailures: bad.map((record) => ({ itemIdentifier: record.id, retryable: false, error: 'bad' })),
    };
  },
};

describe('a blocked key', () => {
  let fixture: EtcdFixture;
  let bridge: Bridge;

  beforeAll(async () => {
    fixture = await startEtcd();
    bridge = await startBridge(
      fixture,
      {
        group: `blk-${randomUUID().slice(0, 6)}`,
        maxInFlight: 8,
        routes: [
          {
            name: 'blk',
            keyPattern: '/blk/src/{id}',
            function: 'copy',
            onFailure: 'block',
            retry: { maxAttempts: 1, initialDelayMs: 10, maxDelayMs: 1_000, maxRecordAgeMs: 3_600_000 },
          },
        ],
      },
      { invoker: copyButBad },
    );
  });

  afterAll(async () => {
    await bridge?.stop();
    await stopEtcd(fixture);
  });

  it("stops its own key only: the route's other keys flow", async () => {
    const { client } = fixture;
    await client.put('/blk/src/bad').value('x');
    await waitFor('the key blocked', () => (bridge.route('blk')?.stats.blocked ?? 0) > 0);

    // Act: more records of other keys than the route holds at once
    for (let i = 0; i < 30; i++) await client.put(`/blk/src/k${i}`).value(`v${i}`);

    // Assess
    const done = await waitFor(
      'the other keys handled',
      async () => {
        const count = await client.getAll().prefix('/blk/out/').count();
        return count === 30 ? count : undefined;
      },
      10_000,
    ).catch(async () => client.getAll().prefix('/blk/out/').count());
    expect(done).toBe(30);
  });
});
