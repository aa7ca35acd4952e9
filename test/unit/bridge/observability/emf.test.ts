import { describe, expect, it } from 'vitest';
import { emfLine, emfValues } from '../../../../bridge/observability/server.js';
import type { RouteStatus } from '../../../../bridge/status/schema.js';

const route: RouteStatus = {
  route: 'job-state',
  prefix: '/esi-worker/job_state/',
  function: 'job-state',
  checkpoint: '90',
  handledThrough: '90',
  held: 4,
  inFlightBatches: 1,
  idle: false,
  watch: 'watching',
  watchReconnects: 0,
  stats: {
    received: 9,
    committed: 5,
    skipped: 0,
    noop: 0,
    retries: 0,
    deadLettered: 2,
    blocked: 0,
    resyncs: 0,
    batches: 3,
    invokeErrors: 0,
  },
  lagRevisions: '4',
  lagSeconds: 0.25,
};

describe('EMF lines', () => {
  it("carry the route's published figures, the ones /metrics and status give", () => {
    const line = JSON.parse(emfLine(route.route, emfValues(route))) as Record<string, unknown>;

    expect(line).toMatchObject({ Route: 'job-state', LagRevisions: 4, LagSeconds: 0.25, DeadLettered: 2 });
    expect(line._aws).toMatchObject({
      CloudWatchMetrics: [{ Namespace: 'EtcdBridge', Dimensions: [['Route']] }],
    });
  });
});
