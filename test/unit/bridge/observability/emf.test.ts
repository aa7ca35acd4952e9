import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BridgeLogger } from '../../../../bridge/log.js';
import { emfLine, emfValues, startObservability } from '../../../../bridge/observability/server.js';
import type { RouteStatus } from '../../../../bridge/status/schema.js';
import type { StatusSource } from '../../../../bridge/status/source.js';
import { waitFor } from '../../../helpers/wait.js';

const logger: BridgeLogger = { log: () => {} } as unknown as BridgeLogger;

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

afterEach(() => {
  vi.restoreAllMocks();
});

// The dashboard graphs DeadLettered as a Sum per minute (infra/stacks/monitoring-stack.ts): each
// line's value must be the records dead-lettered since the previous line, not the running total
// since the bridge started, or one dead letter reads as one more every minute.
describe('EMF DeadLettered', () => {
  it('is what was dead-lettered since the previous line, which CloudWatch sums', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const write = process.stdout.write.bind(process.stdout);
    vi.spyOn(process.stdout, 'write').mockImplementation(((
      chunk: string | Uint8Array,
      ...rest: unknown[]
    ) => {
      const text = String(chunk);
      if (text.includes('"_aws"')) {
        lines.push(JSON.parse(text));
        return true;
      }
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write);

    // Two records dead-lettered before the first line (the fixture's), none after.
    const source = {
      bridgeId: 'b',
      group: 'g',
      fatal: undefined,
      status: () => [],
      routeStatuses: async () => [route],
      isIdle: () => true,
    } as unknown as StatusSource;
    const observability = await startObservability({ port: 0, emfIntervalMs: 300 }, logger);
    observability.attach(source);
    try {
      await waitFor('four EMF lines', () => lines.length >= 4, 10_000);
    } finally {
      await observability.close();
    }
    const sum = lines.slice(0, 4).reduce((total, line) => total + Number(line.DeadLettered), 0);
    expect(sum, `DeadLettered of 4 lines: ${lines.map((l) => l.DeadLettered).join(', ')}`).toBe(2);
  });
});
