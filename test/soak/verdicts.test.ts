/**
 * The soak's exit verdict (run.ts `verdicts`): a bridge that dies of a signal the soak did not
 * send (an abort on V8's heap limit, a segfault) is no exit `etcd-bridge start` promises.
 */
import { describe, expect, it } from 'vitest';
import type { BridgeExit } from './cluster.js';
import { verdicts } from './run.js';

const clean = {
  check: {
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
  exits: [] as BridgeExit[],
  pressureDeadLetters: 0,
  nospaceExits: 0,
} as unknown as Parameters<typeof verdicts>[0];

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
