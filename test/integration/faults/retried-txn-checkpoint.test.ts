/**
 * etcd3 retries a call that failed with a recoverable error (its default policy: 3 attempts on
 * UNAVAILABLE, DEADLINE_EXCEEDED, ...) without telling the caller. A commit applied on the first
 * attempt whose answer was lost is sent again: the second attempt meets its own markers and fails its
 * compares, which is all the committer sees. The checkpoint the first attempt wrote must still bound
 * every later one: a checkpoint is never written backwards in etcd.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../../bridge/bridge.js';
import type { Invoker } from '../../../bridge/invoke/invoker.js';
import { keyspaceFor } from '../../../bridge/keyspace.js';
import type { StageRequest, StageResponse } from '../../../shared/index.js';
import { startBridge } from '../../helpers/bridge.js';
import { type EtcdFixture, history, startEtcd, stopEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';

const copy: Invoker = {
  async invoke(_name: string, request: StageRequest): Promise<StageResponse> {
    await new Promise((resolve) => setTimeout(resolve, 100));
    return {
      results: request.records.map((record) => ({
        id: record.id,
        mutations: [
          { op: 'put', key: record.key.replace('/ck/src/', '/ck/out/'), value: record.value ?? '' },
        ],
      })),
      batchItemFailures: [],
    };
  },
};

describe('a commit etcd3 sent twice', () => {
  let fixture: EtcdFixture;
  let bridge: Bridge;
  const group = `twice-${randomUUID().slice(0, 6)}`;
  let twiceNext = false;

  beforeAll(async () => {
    fixture = await startEtcd();
    const { client } = fixture;
    const txn = client.kv.txn.bind(client.kv);
    client.kv.txn = (async (request: Parameters<typeof txn>[0], options?: Parameters<typeof txn>[1]) => {
      const writesA = request.success?.some((op) => op.request_put?.key?.toString() === '/ck/out/a');
      if (twiceNext && writesA) {
        twiceNext = false;
        // The first attempt is applied, its answer lost; etcd3's retry policy sends it again.
        await txn(request, options);
      }
      return txn(request, options);
    }) as typeof client.kv.txn;
    bridge = await startBridge(
      fixture,
      {
        group,
        checkpointFlushMs: 60_000,
        handOff: false,
        routes: [{ name: 'copy', keyPattern: '/ck/src/{id}', function: 'copy', batchSize: 1 }],
      },
      { client, invoker: copy },
    );
  });

  afterAll(async () => {
    await bridge?.stop();
    await stopEtcd(fixture);
  });

  it('never writes a checkpoint below the one the first attempt wrote', async () => {
    const { client } = fixture;
    const checkpointKey = keyspaceFor(group).checkpoint('copy');
    await client.put('/ck/src/w').value('w');
    await waitFor('the warm-up record', async () => (await client.get('/ck/out/w').string()) === 'w');
    await client.put('/ck/elsewhere').value('a revision the route does not see');

    // Act: a and b in batches of their own, committed one after the other; a's commit sent twice.
    twiceNext = true;
    await client.put('/ck/src/a').value('a');
    await client.put('/ck/src/b').value('b');
    await waitFor('b committed', async () => (await client.get('/ck/out/b').string()) === 'b');
    await new Promise((resolve) => setTimeout(resolve, 300));

    // Assess
    const written = (await history(client, checkpointKey)).map((event) => Number(event.value));
    expect(written).toEqual([...written].sort((x, y) => x - y));
  });
});
