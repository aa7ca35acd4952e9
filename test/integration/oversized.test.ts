import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/bridge.js';
import { createEtcdClient } from '../../bridge/etcd/client.js';
import { op } from '../../bridge/etcd/ops.js';
import { keyspaceFor } from '../../bridge/keyspace.js';
import { readPrefix } from '../../bridge/source/resync.js';
import { readSnapshot } from '../../bridge/source/snapshot.js';
import { startBridge } from '../helpers/bridge.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { waitFor } from '../helpers/wait.js';

describe('outputs etcd refuses as too large', () => {
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

  it("dead-letters the record whose job_state would pass etcd's request limit; the others flow", async () => {
    // Prepare: compact input just under 1.5 MiB; the indented job_state written from it is larger.
    const outputs = Array.from({ length: 24_000 }, (_, i) => ({ output_key: `k${i}`, output_value: i }));
    const huge = JSON.stringify({ stack_status: 'CREATE_COMPLETE', output: outputs, status_reason: 'ok' });
    expect(huge.length).toBeLessThan(1.5 * 1024 * 1024);
    const small = '{"stack_status": "CREATE_COMPLETE", "output": [], "status_reason": "ok"}';

    // Act
    await fixture.client.put('/esi-worker/heat_stacks/v2.0/ports/huge').value(huge);
    await fixture.client.put('/esi-worker/heat_stacks/v2.0/ports/small').value(small);

    // Assess
    await waitFor(
      "the small record's state",
      async () => (await fixture.client.get('/state/v2.0/ports/small').string()) ?? undefined,
    );
    const dlq = await waitFor('the dead-letter record', async () => {
      const all = await fixture.client
        .getAll()
        .prefix(keyspaceFor('test').dlqPrefix('heat-stacks'))
        .strings();
      return Object.values(all)[0];
    });
    expect(JSON.parse(dlq)).toMatchObject({
      key: '/esi-worker/heat_stacks/v2.0/ports/huge',
      errorType: 'CommitRejectedError',
      errorMessage: expect.stringMatching(/request is too large|larger than max/),
    });
    expect(await fixture.client.get('/esi-worker/job_state/v2.0/ports/huge').string()).toBeNull();
    // Counted once in each unit (etcd_bridge_failures_total and etcd_bridge_commit_failures_total):
    // the record's failure for its route, and each transaction etcd refused for the committer.
    const tooLarge = { verdict: 'terminal', reason: 'etcd-request-too-large' };
    expect(bridge.route('heat-stacks')?.failures.entries()).toEqual([{ ...tooLarge, count: 1 }]);
    const commits = bridge.bridgeProgress().commitFailures;
    expect(commits).toHaveLength(1);
    expect(commits[0]).toMatchObject(tooLarge);
    // The batch that held it, then the record alone; or once, if it had a transaction to itself.
    expect([1, 2]).toContain(commits[0]?.count);
  });

  it('dead-letters a value that JSON makes larger (300 KB of control characters are 1.8 MB escaped) without it; the bridge goes on', async () => {
    const { client } = fixture;
    await client.put('/esi-worker/heat_stacks/v2.0/ports/ctl').value('\u0001'.repeat(300_000));

    const dlq = await waitFor(
      'the dead-letter record (or the bridge stopping)',
      async () => {
        if (bridge.fatal) return `fatal: ${bridge.fatal.message}`;
        const all = await client.getAll().prefix(keyspaceFor('test').dlqPrefix('heat-stacks')).strings();
        return Object.values(all).find((text) => text.includes('/ports/ctl"'));
      },
      15_000,
    );
    expect(bridge.fatal?.message).toBeUndefined();
    const record = JSON.parse(dlq);
    expect(record).toMatchObject({ key: '/esi-worker/heat_stacks/v2.0/ports/ctl', valueSize: 300_000 });
    expect(record.value).toBeUndefined();
  });
});

describe('answers larger than gRPC takes by default (4 MiB)', () => {
  let fixture: EtcdFixture;

  beforeAll(async () => {
    fixture = await startEtcd();
  });

  afterAll(async () => {
    await stopEtcd(fixture);
  });

  it('a resync page and a snapshot read of large records are read, not refused as too large', async () => {
    // 500-key pages of 9 KB records and 128-key reads of 40 KB records: each answer over 4 MiB.
    const prefix = '/esi-worker/heat_stacks/v2.0/big/';
    const configs = Array.from({ length: 128 }, (_, i) => `/config/v2.0/big/${i}`);
    await writeValues(
      fixture,
      Array.from({ length: 600 }, (_, i) => `${prefix}${i}`),
      'h'.repeat(9 * 1024),
    );
    await writeValues(fixture, configs, 'c'.repeat(40 * 1024));
    const client = createEtcdClient({ endpoints: [fixture.etcd.clientUrl], callTimeoutMs: 10_000 });
    try {
      const retries: string[] = [];
      let delivered = 0;
      const stop = new AbortController();
      const at = await readPrefix({
        client,
        prefix,
        signal: stop.signal,
        waitForRoom: async () => {},
        deliver: () => delivered++,
        onRetry: (error) => {
          retries.push(String(error));
          stop.abort(); // it would retry the same page forever
        },
      });
      expect(retries).toEqual([]);
      expect(at).toBeDefined();
      expect(delivered).toBe(600);
      const snapshot = await readSnapshot(client, configs);
      expect([...snapshot.entries.values()].filter((entry) => entry !== null)).toHaveLength(128);
    } finally {
      client.close();
    }
  });
});

async function writeValues(fixture: EtcdFixture, keys: readonly string[], value: string): Promise<void> {
  for (let i = 0; i < keys.length; i += 20)
    await fixture.client.kv.txn({
      compare: [],
      success: keys.slice(i, i + 20).map((key) => op.put(key, value)),
      failure: [],
    });
}
