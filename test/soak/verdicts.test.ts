/**
 * The soak's NOSPACE verdicts (run.ts): a dead letter whose error is etcd's pressure fails the
 * invariants, a bridge exit during a NOSPACE fault fails the exits; dead letters for other errors
 * are the checker's "dead-lettered" row, not these. And the exit verdict: a bridge that dies of a
 * signal the soak did not send (an abort on V8's heap limit, a segfault) is no exit `etcd-bridge
 * start` promises.
 */
import { describe, expect, it } from 'vitest';
import { buildDeadLetterRecord } from '../../bridge/dlq/record.js';
import { keyspaceFor } from '../../bridge/keyspace.js';
import type { HistoryEvent } from '../helpers/etcd.js';
import type { BridgeExit } from './cluster.js';
import { countPressureDeadLetters, SOAK_GROUP, verdicts } from './run.js';

function deadLetter(revision: number, errorType: string, errorMessage: string): HistoryEvent {
  const record = buildDeadLetterRecord(
    {
      route: 'heat-stacks',
      key: '/esi-worker/heat_stacks/v2.0/ports/a',
      type: 'put',
      modRevision: BigInt(revision - 1),
      value: Buffer.from('{}'),
      errorType,
      errorMessage,
      attempts: 1,
      firstAttemptAt: 0,
      lastAttemptAt: 0,
      bridgeId: 'b',
    },
    1024,
  );
  return {
    key: `${keyspaceFor(SOAK_GROUP).dlqPrefix('heat-stacks')}${revision}`,
    type: 'put',
    value: JSON.stringify(record),
    modRevision: revision,
    createRevision: revision,
    version: 1,
  };
}

const clean = {
  check: {
    records: 1,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    wrongContent: 0,
    deposedCommits: 0,
    unfinished: 0,
    deadLettered: 0,
  },
  judgeProblems: [],
  drained: true,
  faultProblems: [],
  exits: [],
  pressureDeadLetters: 0,
  nospaceExits: 0,
} as unknown as Parameters<typeof verdicts>[0];

describe('the soak under etcd pressure', () => {
  it('counts dead letters for RESOURCE_EXHAUSTED / database space exceeded / too many requests, and no others', () => {
    const events = [
      deadLetter(
        10,
        'CommitRejectedError',
        '8 RESOURCE_EXHAUSTED: etcdserver: mvcc: database space exceeded',
      ),
      deadLetter(11, 'CommitRejectedError', 'etcdserver: too many requests'),
      deadLetter(12, 'TransformError', 'Unexpected end of JSON input'),
    ];
    expect(countPressureDeadLetters(events, SOAK_GROUP)).toBe(2);
    expect(countPressureDeadLetters(events.slice(2), SOAK_GROUP)).toBe(0);
    expect(countPressureDeadLetters(events, 'another-group')).toBe(0);
  });

  it('fails the verdict on a pressure dead letter or a bridge exit during NOSPACE', () => {
    expect(verdicts(clean).passed).toBe(true);
    expect(verdicts({ ...clean, pressureDeadLetters: 1 }).invariantsHeld).toBe(false);
    expect(verdicts({ ...clean, nospaceExits: 1 }).exitsAsPromised).toBe(false);
    // A report saved before these fields existed still renders and judges as before.
    expect(verdicts({ ...clean, pressureDeadLetters: undefined, nospaceExits: undefined }).passed).toBe(true);
  });
});

const exit = (status: BridgeExit['status'], injected: boolean): BridgeExit => ({
  name: 'bridge A1',
  status,
  injected,
  atMs: 5_000,
  fault: '#2 cut-reset',
  atEnd: false,
  hung: false,
});

describe('soak verdicts: bridge exits', () => {
  it('accepts the exits the soak caused and exit 3', () => {
    expect(verdicts({ ...clean, exits: [exit({ code: null, signal: 'SIGKILL' }, true)] }).passed).toBe(true);
    expect(verdicts({ ...clean, exits: [exit({ code: 3, signal: null }, false)] }).passed).toBe(true);
  });

  it('fails a bridge that died of a signal nobody sent it (V8 heap limit: SIGABRT)', () => {
    const report = { ...clean, exits: [exit({ code: null, signal: 'SIGABRT' }, false)] };
    expect(verdicts(report).exitsAsPromised).toBe(false);
    expect(verdicts(report).passed).toBe(false);
  });
});
