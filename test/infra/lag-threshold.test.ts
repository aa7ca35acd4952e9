/**
 * The `<Stage>LagRevisions` alarm fires when the bridge's EMF `LagRevisions` is greater than
 * `etcdBridge:lagRevisionsThreshold`. The bridge counts that figure up to a limit (bridge/status/lag.ts), so a
 * threshold at or above the limit is an alarm that can never fire, however far behind the bridge is. The CDK
 * config must refuse such a threshold instead of deploying a dead alarm.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lagRevisions } from '../../bridge/status/lag.js';
import { ConfigError, parseConfig } from '../../infra/config.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';

const PREFIX = '/esi-worker/heat_stacks/v2.0/ports/';
const BACKLOG = 12_000;

describe('lagRevisionsThreshold vs the lag the bridge can report', () => {
  let fixture: EtcdFixture;
  beforeAll(async () => {
    fixture = await startEtcd();
    // A backlog of 12,000 changed keys the route has not handled (128 puts a transaction).
    for (let i = 0; i < BACKLOG; i += 128) {
      const txn = fixture.client.if('/nothing', 'Create', '==', 0);
      const ops = [];
      for (let j = i; j < Math.min(BACKLOG, i + 128); j++)
        ops.push(fixture.client.put(`${PREFIX}k${j}`).value('{}'));
      await txn.then(...ops).commit();
    }
  }, 120_000);
  afterAll(async () => {
    await stopEtcd(fixture);
  });

  it('refuses a threshold the reported lag can never exceed', async () => {
    const reported = await lagRevisions(fixture.client, { prefix: PREFIX, handledThrough: 0n, held: 0 });
    // 12,000 revisions behind; what the alarm sees:
    const ceiling = Number(reported);
    expect(ceiling).toBeLessThan(BACKLOG);
    // An alarm "LagRevisions > ceiling" can never be in ALARM; the config should say so at synth.
    let error: unknown;
    try {
      parseConfig({
        'etcdBridge:etcdEndpoints': 'https://etcd-0:2379',
        'etcdBridge:lagRevisionsThreshold': String(ceiling),
      });
    } catch (e) {
      error = e;
    }
    expect(
      error,
      `lagRevisionsThreshold=${ceiling} accepted, but LagRevisions never exceeds ${ceiling}`,
    ).toBeInstanceOf(ConfigError);
  }, 60_000);
});
