/**
 * `etcdBridge:etcdEndpoints` takes `http(s)://host[:port]`, "the port defaults to 2379" (docs/deploy.md), and the
 * security group opens 2379 for an endpoint without one. The task gets the endpoints as ETCD_ENDPOINTS: the
 * bridge must then reach etcd on 2379 too. Real etcd listening on 127.0.0.7:2379, the endpoint given without a
 * port, the bridge's own etcd client built from the synthesized container environment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyEnvironment, parseBridgeConfig } from '../../bridge/config.js';
import { createEtcdClient } from '../../bridge/etcd/client.js';
import { parseConfig } from '../../infra/config.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { synthApp } from './support.js';

const HOST = '127.0.0.7';

describe('an etcd endpoint without a port', () => {
  let fixture: EtcdFixture;
  beforeAll(async () => {
    fixture = await startEtcd({ host: HOST, clientPort: 2379 });
    await fixture.client.put('/probe').value('ok');
  }, 60_000);
  afterAll(async () => {
    await stopEtcd(fixture);
  });

  it.each([`http://${HOST}`, `http://${HOST}:2379/`])(
    '%s is reached by the deployed bridge on the port the stack opens (2379)',
    async (endpoint) => {
      const context = { 'etcdBridge:etcdEndpoints': endpoint };
      expect(parseConfig(context).etcdPorts).toEqual([2379]);

      const synth = synthApp(context, { bundle: false });
      const t = synth.template(synth.bridge).toJSON();
      const task = Object.values(
        t.Resources as Record<
          string,
          { Type: string; Properties: { ContainerDefinitions: Array<{ Environment: unknown }> } }
        >,
      ).find((r) => r.Type === 'AWS::ECS::TaskDefinition')!;
      const env = Object.fromEntries(
        (
          (task.Properties.ContainerDefinitions[0]?.Environment ?? []) as Array<{
            Name: string;
            Value: unknown;
          }>
        )
          .filter((e) => typeof e.Value === 'string')
          .map((e) => [e.Name, e.Value as string]),
      );
      const config = parseBridgeConfig(applyEnvironment({}, { ETCD_ENDPOINTS: env.ETCD_ENDPOINTS }));
      const client = createEtcdClient({ ...config.etcd, callTimeoutMs: 3_000 });
      try {
        expect(await client.get('/probe').string()).toBe('ok');
      } finally {
        client.close();
      }
    },
    60_000,
  );
});
