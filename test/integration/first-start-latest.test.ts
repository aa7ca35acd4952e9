/**
 * A first start at `latest` (the default): the routes start one after the other, each at the head
 * it reads. A heat stack written once stage heat-stacks runs, whose job_state is committed before
 * stage job-state has read its head, must still reach the state record: the pipeline's routes
 * start from one moment, not job-state from after heat-stacks' first output.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/bridge.js';
import { keyspaceFor } from '../../bridge/keyspace.js';
import { startBridge } from '../helpers/bridge.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { heatStackText } from '../helpers/records.js';
import { waitFor } from '../helpers/wait.js';

const HEAT = '/esi-worker/heat_stacks/v2.0/ports/first';
const JOB = '/esi-worker/job_state/v2.0/ports/first';
const STATE = '/state/v2.0/ports/first';

describe('a first start at latest', () => {
  let fixture: EtcdFixture;
  let bridge: Bridge;
  const group = `first-${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    fixture = await startEtcd();
    const { client } = fixture;
    const jobStateCheckpoint = Buffer.from(keyspaceFor(group).checkpoint('job-state'));
    const range = client.kv.range.bind(client.kv);
    let once = true;
    // When the bridge reads job-state's checkpoint (heat-stacks runs already), Heat writes a stack
    // and the bridge's heat-stacks commits its job_state first.
    client.kv.range = (async (
      request: Parameters<typeof range>[0],
      options?: Parameters<typeof range>[1],
    ) => {
      if (once && Buffer.from(request.key as Buffer).equals(jobStateCheckpoint)) {
        once = false;
        await client.put(HEAT).value(heatStackText({}));
        // (If heat-stacks does not run yet, nothing comes: the read goes on after a while.)
        await waitFor(
          'its job_state',
          async () => (await client.get(JOB).string()) ?? undefined,
          2_000,
        ).catch(() => undefined);
      }
      return range(request, options);
    }) as typeof client.kv.range;
    bridge = await startBridge(fixture, { group }, { client });
  });

  afterAll(async () => {
    await bridge?.stop();
    await stopEtcd(fixture);
  });

  it('the stack written once the bridge runs reaches its state record', async () => {
    const state = await waitFor(
      'the state record',
      async () => (await fixture.client.get(STATE).string()) ?? undefined,
      5_000,
    ).catch(() => null);
    expect(state).not.toBeNull();
  });
});
