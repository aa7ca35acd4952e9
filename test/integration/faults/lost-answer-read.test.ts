/**
 * A commit whose answer is lost (etcd applied it; the client got UNAVAILABLE) is retried, meets its
 * own markers and resolves as already applied. The next record of the same key must then read what
 * that commit wrote: its snapshot may not be taken at a revision below the lost commit.
 */
import { randomUUID } from 'node:crypto';
import { GRPCUnavailableError } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../../bridge/bridge.js';
import type { Invoker } from '../../../bridge/invoke/invoker.js';
import { keyspaceFor, padRevision } from '../../../bridge/keyspace.js';
import type { StageRequest, StageResponse } from '../../../shared/index.js';
import { startBridge } from '../../helpers/bridge.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';

/** out = (what the record read of its out key) + 1: a record that reads stale state counts wrong. */
const counter: Invoker = {
  async invoke(_name: string, request: StageRequest): Promise<StageResponse> {
    await new Promise((resolve) => setTimeout(resolve, 150));
    return {
      results: request.records.map((record) => {
        const out = record.key.replace('/cnt/src/', '/cnt/out/');
        const before = record.reads[out];
        return {
          id: record.id,
          mutations: [{ op: 'put', key: out, value: String(Number(before ?? 0) + 1) }],
        };
      }),
      batchItemFailures: [],
    };
  },
};

describe('after a commit whose answer was lost', () => {
  let fixture: EtcdFixture;
  let bridge: Bridge;
  const group = `lost-${randomUUID().slice(0, 6)}`;
  let loseNext = false;
  let lost = 0;

  beforeAll(async () => {
    fixture = await startEtcd();
    const { client } = fixture;
    const txn = client.kv.txn.bind(client.kv);
    client.kv.txn = (async (request: Parameters<typeof txn>[0], options?: Parameters<typeof txn>[1]) => {
      const answer = await txn(request, options);
      const writesX = request.success?.some((op) => op.request_put?.key?.toString() === '/cnt/out/x');
      if (loseNext && writesX && answer.succeeded) {
        loseNext = false;
        lost++;
        throw new GRPCUnavailableError('14 UNAVAILABLE: the answer was lost (test)');
      }
      return answer;
    }) as typeof client.kv.txn;
    bridge = await startBridge(
      fixture,
      {
        group,
        checkpointFlushMs: 60_000,
        handOff: false,
        routes: [{ name: 'count', keyPattern: '/cnt/src/{id}', function: 'count', reads: ['/cnt/out/{id}'] }],
      },
      { client, invoker: counter },
    );
  });

  afterAll(async () => {
    await bridge?.stop();
    await stopEtcd(fixture);
  });

  it("the key's next record reads what the lost commit wrote", async () => {
    const { client } = fixture;
    // Prepare: one commit of this bridge first (so its batches read at its last commit's revision).
    await client.put('/cnt/src/w').value('1');
    await waitFor('the warm-up record', async () => (await client.get('/cnt/out/w').string()) === '1');

    // Act: two revisions of x, the first one's commit applied with its answer lost.
    loseNext = true;
    await client.put('/cnt/src/x').value('1');
    const second = await client.put('/cnt/src/x').value('2');

    // Assess
    const marker = keyspaceFor(group).applied('count', '/cnt/src/x');
    await waitFor(
      'the second record applied',
      async () => (await client.get(marker).string()) === padRevision(second.header.revision),
    );
    expect(lost).toBe(1);
    expect(await client.get('/cnt/out/x').string()).toBe('2');
  });
});
