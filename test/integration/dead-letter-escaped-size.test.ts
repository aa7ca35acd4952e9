/**
 * A bad record is dead-lettered into etcd with its value when the value is at most the sink's
 * maxValueBytes (1 MiB). The limit must hold for the value as the record carries it (JSON text):
 * control characters are six bytes each there (\u0001), so 300 KB of them are 1.8 MB, over etcd's
 * request limit. Before, the dead-letter commit was refused, the route stopped the bridge, and the
 * restarted bridge met the same record again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/bridge.js';
import { keyspaceFor } from '../../bridge/keyspace.js';
import { startBridge } from '../helpers/bridge.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { waitFor } from '../helpers/wait.js';

describe('a dead-lettered value that JSON makes larger', () => {
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

  it('is dead-lettered without its value, and the bridge goes on', async () => {
    const { client } = fixture;
    await client.put('/esi-worker/heat_stacks/v2.0/ports/ctl').value('\u0001'.repeat(300_000));

    const dlq = await waitFor(
      'the dead-letter record (or the bridge stopping)',
      async () => {
        if (bridge.fatal) return `fatal: ${bridge.fatal.message}`;
        const all = await client.getAll().prefix(keyspaceFor('test').dlqPrefix('heat-stacks')).strings();
        return Object.values(all)[0];
      },
      15_000,
    );
    expect(bridge.fatal?.message).toBeUndefined();
    const record = JSON.parse(dlq);
    expect(record).toMatchObject({ key: '/esi-worker/heat_stacks/v2.0/ports/ctl', valueSize: 300_000 });
    expect(record.value).toBeUndefined();
  });
});
