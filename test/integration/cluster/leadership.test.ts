/**
 * Leadership against a real 3-member cluster: it survives its keep-alive member being cut off
 * from its peers (the keep-alive moves to another member within the lease TTL), and when it does
 * end, the error says what happened: the lease expired, the key was deleted while the lease lived,
 * and who leads now. A second candidate waits and is elected when the first resigns, also when its
 * read of the election answers only after the resignation.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BridgeEtcd, createEtcdClient } from '../../../bridge/etcd/client.js';
import { keyspaceFor } from '../../../bridge/keyspace.js';
import { acquireLeadership, Leadership } from '../../../bridge/leader.js';
import { EtcdCluster } from '../../helpers/etcd-cluster.js';
import { sleep } from '../../helpers/workload.js';

const TTL = 3;

describe('leadership on a 3-member cluster', () => {
  let cluster: EtcdCluster;
  let client: BridgeEtcd;

  beforeAll(async () => {
    cluster = await EtcdCluster.start();
    client = createEtcdClient({ endpoints: cluster.endpoints, callTimeoutMs: 5_000 });
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await cluster?.stop();
  });

  const root = () => keyspaceFor(`lead-${randomUUID().slice(0, 8)}`).root;

  it('survives its keep-alive member being cut off from its peers for 4 × TTL', async () => {
    // Prepare
    const moves: string[] = [];
    const leadership = await acquireLeadership(client, root(), 'bridge-a', TTL, {
      log: (_, message, fields) => {
        if (message.includes('keep-alive moved')) moves.push(String(fields?.reason));
      },
    });
    const member = cluster.members.find((m) => m.etcd.clientUrl === leadership.keepAliveEndpoint)!;

    // Act
    cluster.cutOff(member.index);
    await sleep(4 * TTL * 1000);
    cluster.heal(member.index);
    await sleep(1_000);

    // Assess
    expect(leadership.lost).toBeUndefined();
    expect(moves.length).toBeGreaterThan(0);
    expect(leadership.keepAliveEndpoint).not.toBe(member.etcd.clientUrl);
    const key = await client.get(leadership.campaignKey).exec();
    expect(key.kvs[0]?.create_revision).toBe(leadership.createRevision);
    await leadership.resign();
  }, 60_000);

  it('a revoked lease: "lease … expired"', async () => {
    const leadership = await Leadership.acquire(client, root(), 'bridge-b', TTL);
    const leaseId = leadership.campaignKey.split('/').at(-1)!;
    await client.leaseClient.leaseRevoke({ ID: leaseId });
    await waitFor(() => leadership.lost !== undefined);
    // From the keep-alive (TTL 0) or from the election watch (key gone with the lease): both say so.
    expect(leadership.lost?.message).toMatch(/lease \d+ expired/);
  }, 30_000);

  it('a deleted key while the lease lives: "deleted by someone else", and who leads now', async () => {
    const group = root();
    const first = await Leadership.acquire(client, group, 'bridge-c', TTL);
    const second = Leadership.acquire(client, group, 'bridge-d', TTL);
    await sleep(500);
    await client.delete().key(first.campaignKey);
    await waitFor(() => first.lost !== undefined);
    expect(first.lost?.message).toContain('deleted');
    expect(first.lost?.message).toContain('by someone else while its lease lived');
    const elected = await second;
    expect(elected.lost).toBeUndefined();
    await first.resign();
    await elected.resign();
  }, 30_000);

  it('a second candidate waits, and is elected when the leader resigns', async () => {
    const group = root();
    const first = await Leadership.acquire(client, group, 'bridge-e', TTL);
    let elected = false;
    const second = Leadership.acquire(client, group, 'bridge-f', TTL).then((l) => {
      elected = true;
      return l;
    });
    await sleep(2 * TTL * 1000);
    expect(elected).toBe(false);
    await first.resign();
    const leader = await second;
    expect(elected).toBe(true);
    await leader.resign();
  }, 30_000);

  it('a candidate whose read of the election answers late still sees the leader resign meanwhile', async () => {
    // The leader resigns after etcd has read the election for the candidate but before the answer
    // (which still shows the leader) is back: the delete's watch event comes first, and must not
    // be lost to the wait that follows the answer, or nobody leads until some other change.
    const group = root();
    const first = await Leadership.acquire(client, group, 'bridge-g', TTL);
    const slow = createEtcdClient({ endpoints: cluster.endpoints, callTimeoutMs: 5_000 });
    try {
      const range = slow.kv.range.bind(slow.kv);
      let lateAnswers = 0;
      slow.kv.range = async (request, options) => {
        const answer = await range(request, options);
        lateAnswers++;
        await sleep(600);
        return answer;
      };
      const second = Leadership.acquire(slow, group, 'bridge-h', TTL);
      await waitFor(() => lateAnswers > 0); // read done, its answer held back
      await first.resign();
      const resignedAt = Date.now();
      const leader = await second;
      // Elected once the late answer is back and read again: well before the 10 s test timeout.
      expect(Date.now() - resignedAt).toBeLessThan(5_000);
      await leader.resign();
    } finally {
      slow.close();
    }
  }, 30_000);
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}
