/**
 * A commit etcd applied whose answer the bridge never got. Two ways it happens:
 * - the call fails (UNAVAILABLE, DEADLINE_EXCEEDED) after etcd applied it: the committer retries,
 *   meets its own markers and settles the records as already applied;
 * - etcd3's retry policy (3 attempts on UNAVAILABLE, ...) sends the call again without telling the
 *   caller: the second attempt meets the first one's markers, and a failed compare is all the
 *   committer sees.
 * Either way the key's next record must read what that commit wrote (its snapshot may not be taken
 * below it), and no later checkpoint may go below the one it wrote.
 */
import { randomUUID } from 'node:crypto';
import { GRPCUnavailableError } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../../bridge/bridge.js';
import type { Invoker } from '../../../bridge/invoke/invoker.js';
import { keyspaceFor, padRevision } from '../../../bridge/keyspace.js';
import type { StageRequest, StageResponse } from '../../../shared/index.js';
import { startBridge } from '../../helpers/bridge.js';
import { type EtcdFixture, history, startEtcd, stopEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';

/** out = (what the record read of its out key) + 1: a record that reads stale state counts wrong. */
const counter: Invoker = {
  async invoke(_name: string, request: StageRequest): Promise<StageResponse> {
    await new Promise((resolve) => setTimeout(resolve, 150));
    return {
      results: request.records.map((record) => {
        const out = record.key.replace('/cnt/src/', '/cnt/out/');
        return {
          id: record.id,
          mutations: [{ op: 'put', key: out, value: String(Number(record.reads[out] ?? 0) + 1) }],
        };
      }),
      batchItemFailures: [],
    };
  },
};

let fixture: EtcdFixture;
let bridge: Bridge;
const group = `lost-${randomUUID().slice(0, 6)}`;
/** What the next commit writing this out key meets: its answer thrown away, or the call sent twice. */
const next = new Map<string, 'lose-answer' | 'send-twice'>();

beforeAll(async () => {
  fixture = await startEtcd();
  const { client } = fixture;
  const txn = client.kv.txn.bind(client.kv);
  client.kv.txn = (async (request: Parameters<typeof txn>[0], options?: Parameters<typeof txn>[1]) => {
    const key = request.success?.map((op) => op.request_put?.key?.toString()).find((k) => next.has(k ?? ''));
    const fault = key === undefined ? undefined : next.get(key);
    if (key !== undefined) next.delete(key);
    if (fault === 'send-twice') await txn(request, options);
    const answer = await txn(request, options);
    if (fault === 'lose-answer' && answer.succeeded)
      throw new GRPCUnavailableError('14 UNAVAILABLE: the answer was lost (test)');
    return answer;
  }) as typeof client.kv.txn;
  bridge = await startBridge(
    fixture,
    {
      group,
      checkpointFlushMs: 60_000,
      handOff: false,
      routes: [
        {
          name: 'count',
          keyPattern: '/cnt/src/{id}',
          function: 'count',
          reads: ['/cnt/out/{id}'],
          batchSize: 1,
        },
      ],
    },
    { client, invoker: counter },
  );
  // One commit of this bridge first, so that its batches read at its last commit's revision.
  await client.put('/cnt/src/w').value('1');
  await waitFor('the warm-up record', async () => (await client.get('/cnt/out/w').string()) === '1');
});

afterAll(async () => {
  await bridge?.stop();
  await stopEtcd(fixture);
});

describe('a commit etcd applied, its answer lost', () => {
  it("the key's next record reads what the lost commit wrote", async () => {
    const { client } = fixture;
    next.set('/cnt/out/x', 'lose-answer');
    await client.put('/cnt/src/x').value('1');
    const second = await client.put('/cnt/src/x').value('2');

    const marker = keyspaceFor(group).applied('count', '/cnt/src/x');
    await waitFor(
      'the second record applied',
      async () => (await client.get(marker).string()) === padRevision(second.header.revision),
    );
    expect(next.has('/cnt/out/x')).toBe(false);
    expect(await client.get('/cnt/out/x').string()).toBe('2');
  });

  it('a commit sent twice by etcd3 writes no checkpoint below the one its first attempt wrote', async () => {
    const { client } = fixture;
    await client.put('/elsewhere').value('a revision the route does not see');
    // a and b in batches of their own, committed one after the other; a's commit sent twice.
    next.set('/cnt/out/a', 'send-twice');
    await client.put('/cnt/src/a').value('a');
    await client.put('/cnt/src/b').value('b');
    await waitFor('b committed', async () => (await client.get('/cnt/out/b').string()) === '1');
    await new Promise((resolve) => setTimeout(resolve, 300));

    const written = (await history(client, keyspaceFor(group).checkpoint('count'))).map((event) =>
      Number(event.value),
    );
    expect(next.has('/cnt/out/a')).toBe(false);
    expect(written).toEqual([...written].sort((x, y) => x - y));
  });
});
