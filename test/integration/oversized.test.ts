import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/bridge.js';
import { keyspaceFor } from '../../bridge/keyspace.js';
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
});
