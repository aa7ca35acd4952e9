/**
 * `etcd-bridge status`'s table: the leader's counters (watch reconnects per route, lease keep-alive
 * failovers, failed commits) are shown only from a status fresh enough to be the leader's own.
 */
import { describe, expect, it } from 'vitest';
import { formatReport } from '../../../../bridge/cli/status.js';
import type { StatusReport } from '../../../../bridge/status/reader.js';
import { routeStatus } from '../../../helpers/route-status.js';

function report(stale: boolean): StatusReport {
  return {
    group: 'g',
    headRevision: '12',
    leader: 'b1',
    published: { bridgeId: 'b1', publishedAt: new Date(0).toISOString(), ageMs: 1_000, stale },
    deadLetterSink: 'etcd',
    routes: ['heat-stacks', 'job-state'].map((route, i) => ({
      route,
      checkpoint: '10',
      headRevision: '12',
      lag: '0',
      lagFrom: 'leader' as const,
      inFlight: 0,
      inFlightBatches: 0,
      deadLettered: 0,
      published: routeStatus(route, { watchReconnects: 3 - i * 3 }),
    })),
    progress: {
      leaseKeepAliveFailovers: 2,
      commitFailures: [{ verdict: 'retry', reason: 'etcd-unavailable', count: 4 }],
    },
  };
}

describe('status table', () => {
  it("shows the leader's counters from a fresh status", () => {
    const lines = formatReport(report(false)).split('\n');

    expect(lines[1]).toMatch(/IN FLIGHT\s+DEAD-LETTERED\s+WATCH RECONNECTS$/);
    expect(lines[2]).toMatch(/^heat-stacks\s.*\s3$/);
    expect(lines[3]).toMatch(/^job-state\s.*\s0$/);
    expect(lines[4]).toBe(
      'leader since its start: 2 lease keep-alive failovers; failed commits: etcd-unavailable 4',
    );
  });

  it('leaves them out of a stale one', () => {
    const text = formatReport(report(true));

    expect(text).toMatch(/^heat-stacks\s.*\s\?$/m);
    expect(text).not.toMatch(/lease keep-alive failovers/);
  });
});
