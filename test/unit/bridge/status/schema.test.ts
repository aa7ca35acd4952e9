import { describe, expect, it } from 'vitest';
import { PublishedStatusSchema, RouteStatusSchema } from '../../../../bridge/status/schema.js';

const route = {
  route: 'heat-stacks',
  prefix: '/esi-worker/heat_stacks/',
  function: 'heat-stacks',
  checkpoint: '41',
  handledThrough: '41',
  held: 0,
  inFlightBatches: 0,
  idle: true,
  watch: 'watching',
  watchReconnects: 0,
  stats: {
    received: 3,
    committed: 3,
    skipped: 0,
    noop: 0,
    retries: 0,
    deadLettered: 0,
    blocked: 0,
    resyncs: 0,
    batches: 2,
    invokeErrors: 0,
  },
  lagRevisions: '0',
  lagSeconds: 0,
};

describe('the status schema', () => {
  it('reads what the leader publishes', () => {
    const published = {
      bridgeId: 'b',
      group: 'g',
      publishedAt: new Date(0).toISOString(),
      headRevision: '50',
    };

    expect(PublishedStatusSchema.parse({ ...published, routes: [route] }).routes[0]).toEqual(route);
  });

  it('refuses a lag that is not a revision count, and a status without its lag', () => {
    expect(RouteStatusSchema.safeParse({ ...route, lagRevisions: '-1' }).success).toBe(false);
    const { lagRevisions: _lag, ...withoutLag } = route;
    expect(RouteStatusSchema.safeParse(withoutLag).success).toBe(false);
  });

  it("reads the leader's own counters, and a status from a leader that did not publish them", () => {
    const published = {
      bridgeId: 'b',
      group: 'g',
      publishedAt: new Date(0).toISOString(),
      headRevision: '50',
      routes: [route],
    };
    const bridge = {
      leaseKeepAliveFailovers: 2,
      commitFailures: [{ verdict: 'retry', reason: 'etcd-unavailable', count: 3 }],
    };

    expect(PublishedStatusSchema.parse({ ...published, bridge }).bridge).toEqual(bridge);
    expect(PublishedStatusSchema.parse(published).bridge).toBeUndefined();
    expect(
      PublishedStatusSchema.safeParse({ ...published, bridge: { ...bridge, leaseKeepAliveFailovers: -1 } })
        .success,
    ).toBe(false);
  });
});
