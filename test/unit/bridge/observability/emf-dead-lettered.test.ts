/**
 * The dashboard's "dead letters" widget graphs the EMF metric `DeadLettered` as a Sum per minute
 * (infra/stacks/monitoring-stack.ts): each line's value must be the records dead-lettered since the
 * previous line, not the running total since the bridge started, or one dead letter reads as one
 * more every minute for as long as the leader runs.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BridgeLogger } from '../../../../bridge/log.js';
import { startObservability } from '../../../../bridge/observability/server.js';
import type { RouteStatus } from '../../../../bridge/status/schema.js';
import type { StatusSource } from '../../../../bridge/status/source.js';
import { waitFor } from '../../../helpers/wait.js';

const logger: BridgeLogger = { log: () => {} } as unknown as BridgeLogger;

function status(deadLettered: number): RouteStatus {
  return {
    route: 'heat-stacks',
    prefix: '/esi-worker/heat_stacks/',
    function: 'heat-stacks',
    checkpoint: '90',
    handledThrough: '90',
    held: 0,
    inFlightBatches: 0,
    idle: true,
    watch: 'watching',
    watchReconnects: 0,
    stats: {
      received: 9,
      committed: 5,
      skipped: 0,
      noop: 0,
      retries: 0,
      deadLettered,
      blocked: 0,
      resyncs: 0,
      batches: 3,
      invokeErrors: 0,
    },
    lagRevisions: '0',
    lagSeconds: 0,
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

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

    // Two records dead-lettered before the first line, none after.
    const source = {
      bridgeId: 'b',
      group: 'g',
      fatal: undefined,
      status: () => [],
      routeStatuses: async () => [status(2)],
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
