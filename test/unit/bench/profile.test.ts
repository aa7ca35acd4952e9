import { describe, expect, it } from 'vitest';
import { type CpuProfile, componentOf, summarizeProfile } from '../../../bench/profile.js';

const url = (path: string) => `file:///work/main/${path}`;

/** root → main → (commit, gRPC); idle and GC beside them. Sample i lasts timeDeltas[i + 1] µs (the last one: its own delta). */
const profile: CpuProfile = {
  startTime: 0,
  endTime: 10_000,
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 5, 6] },
    {
      id: 2,
      callFrame: { functionName: 'main', url: url('dist/bridge/bridge.js'), lineNumber: 9 },
      children: [3, 4],
    },
    {
      id: 3,
      callFrame: { functionName: 'commit', url: url('dist/bridge/commit/committer.js'), lineNumber: 144 },
    },
    {
      id: 4,
      callFrame: {
        functionName: 'makeUnaryRequest',
        url: url('node_modules/@grpc/grpc-js/build/src/client.js'),
        lineNumber: 123,
      },
    },
    { id: 5, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
    { id: 6, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
  ],
  samples: [3, 3, 4, 5, 6, 2],
  timeDeltas: [0, 1000, 2000, 4000, 1000, 1000],
};

describe('summarizeProfile', () => {
  it('adds up self time per function and per component, as shares of the busy time', () => {
    const summary = summarizeProfile(profile);
    // commit: 1000 + 2000; makeUnaryRequest: 4000; idle: 1000 (excluded); GC: 1000; main: 1000.
    expect(summary.busyMs).toBe(9);
    expect(summary.wallMs).toBe(10);
    expect(summary.functions.map((f) => [f.name, f.selfMs])).toEqual([
      ['makeUnaryRequest (@grpc/grpc-js/build/src/client.js:124)', 4],
      ['commit (bridge/commit/committer.js:145)', 3],
      ['(garbage collector)', 1],
      ['main (bridge/bridge.js:10)', 1],
    ]);
    expect(summary.functions[0]?.share).toBeCloseTo(4 / 9);
    expect(summary.components.map((c) => c.component)).toEqual([
      '@grpc/grpc-js',
      'bridge/commit',
      '(garbage collector)',
      'bridge/bridge',
    ]);
  });

  it('falls back to hit counts when the profile has no samples', () => {
    const summary = summarizeProfile({
      startTime: 0,
      endTime: 4_000,
      nodes: [
        {
          id: 1,
          callFrame: { functionName: 'a', url: url('dist/shared/json/parse.js'), lineNumber: 0 },
          hitCount: 3,
        },
        { id: 2, callFrame: { functionName: 'b', url: 'node:internal/buffer', lineNumber: 0 }, hitCount: 1 },
      ],
    });
    expect(summary.functions.map((f) => [f.name, f.selfMs])).toEqual([
      ['a (shared/json/parse.js:1)', 3],
      ['b (node:internal/buffer:1)', 1],
    ]);
  });
});

describe('componentOf', () => {
  it('names packages, our own parts, Node and V8', () => {
    expect(componentOf(url('node_modules/zod/v4/core/schemas.js'), 'parse')).toBe('zod');
    expect(componentOf(url('node_modules/@aws-sdk/client-lambda/dist-cjs/index.js'), 'x')).toBe(
      '@aws-sdk/client-lambda',
    );
    expect(componentOf(url('dist/shared/json/encode.js'), 'quote')).toBe('shared/json');
    expect(componentOf(url('dist/bridge/route-worker.js'), 'pump')).toBe('bridge/route-worker');
    expect(componentOf('node:internal/http2/core', 'request')).toBe('node (internals)');
    expect(componentOf('', 'JSON.parse')).toBe('V8 builtins / native');
    expect(componentOf('', '(garbage collector)')).toBe('(garbage collector)');
  });
});
