import { describe, expect, it } from 'vitest';
import { formatRecordLine, recordLines } from '../../../../bridge/cli/record-lines.js';
import { EtcdDeadLetterSink } from '../../../../bridge/dlq/etcd-sink.js';
import { buildDeadLetterRecord } from '../../../../bridge/dlq/record.js';
import { keyspaceFor, padRevision } from '../../../../bridge/keyspace.js';

const keyspace = keyspaceFor('dev');
const routes = ['heat-stacks', 'job-state'];
const heat = '/esi-worker/heat_stacks/v2.0/ports/p-1';
const job = '/esi-worker/job_state/v2.0/ports/p-2';

describe('dev: one line per processed record, from the bookkeeping of one commit', () => {
  it('a marker is a committed record; a marker with a dead-letter entry of the same key is dead-lettered', () => {
    const record = buildDeadLetterRecord(
      {
        route: 'job-state',
        key: job,
        type: 'put',
        modRevision: 41n,
        value: Buffer.from('{}'),
        errorType: 'RejectedStatusError',
        errorMessage: 'stack_status "CHECK_COMPLETE" has no worker_state\nmore detail',
        attempts: 1,
        firstAttemptAt: 0,
        lastAttemptAt: 0,
        bridgeId: 'b',
      },
      1024,
    );
    const entry = new EtcdDeadLetterSink(undefined as never, keyspace).write(record);
    const lines = recordLines(keyspace, routes, [
      { key: keyspace.applied('heat-stacks', heat), value: padRevision(40n) },
      { key: '/esi-worker/job_state/v2.0/ports/p-1', value: '{...}' },
      { key: keyspace.checkpoint('heat-stacks'), value: padRevision(40n) },
      { key: keyspace.applied('job-state', job), value: padRevision(41n) },
      entry,
    ]);
    expect(lines).toEqual([
      { route: 'heat-stacks', key: heat, revision: '40' },
      {
        route: 'job-state',
        key: job,
        revision: '41',
        deadLettered: 'RejectedStatusError: stack_status "CHECK_COMPLETE" has no worker_state',
      },
    ]);
    const at = new Date('2026-12-01T12:00:01Z');
    expect(formatRecordLine(lines[0]!, at)).toBe(`12:00:01  heat-stacks  ${heat} @40  committed`);
    expect(formatRecordLine(lines[1]!, at)).toContain('DEAD-LETTERED  RejectedStatusError:');
  });

  it("ignores other groups, unknown routes and the bridge's other keys", () => {
    const other = keyspaceFor('default');
    expect(
      recordLines(keyspace, routes, [
        { key: other.applied('heat-stacks', heat), value: padRevision(3n) },
        { key: keyspace.applied('other-route', heat), value: padRevision(3n) },
        { key: `${keyspace.root}status`, value: '{}' },
      ]),
    ).toEqual([]);
  });
});
