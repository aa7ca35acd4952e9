/** Start a bridge in this process against a test etcd. */
import { Bridge, type BridgeOptions } from '../../bridge/bridge.js';
import { type BridgeConfigInput, parseBridgeConfig } from '../../bridge/config.js';
import type { EtcdFixture } from './etcd.js';

export async function startBridge(
  fixture: EtcdFixture,
  config: Partial<BridgeConfigInput> = {},
  options: BridgeOptions = {},
): Promise<Bridge> {
  const parsed = parseBridgeConfig({
    etcd: { endpoints: [fixture.etcd.clientUrl] },
    group: 'test',
    observability: { port: 0 },
    leaseTtlSeconds: 2,
    checkpointFlushMs: 100,
    ...config,
  });
  // Its own etcd client (as in production): a test's client never shares its circuit breaker.
  return Bridge.start(parsed, options);
}
