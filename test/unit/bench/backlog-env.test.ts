import { describe, expect, it } from 'vitest';
import { backlogChild } from '../../../bench/backlog.js';
import { BRIDGE_ENV, bridgeNodeOptions } from '../../../bin/v8-flags.js';

describe("the backlog child's environment: the bridge's shipped settings on every Node", () => {
  it('leaves the flags to the bin where it re-executes itself (Node >= 22.15)', () => {
    expect(backlogChild({ PATH: '/bin' }, { canReexecute: true })).toEqual({
      env: { PATH: '/bin', LOG_LEVEL: 'warn' },
      nodeArgs: [],
    });
  });

  it('gives an older Node the flags and MALLOC_ARENA_MAX as docs/deploy.md tells a Node 20 user to', () => {
    const { env, nodeArgs } = backlogChild({ PATH: '/bin' }, { canReexecute: false });
    expect(env.NODE_OPTIONS).toBe(bridgeNodeOptions());
    expect(env.NODE_OPTIONS).toBe('--max-semi-space-size=2 --max-old-space-size=128');
    expect(env.MALLOC_ARENA_MAX).toBe(BRIDGE_ENV.MALLOC_ARENA_MAX);
    expect(nodeArgs).toEqual([]);
  });

  it("keeps the bench's own NODE_OPTIONS and MALLOC_ARENA_MAX, the flags after them", () => {
    const { env } = backlogChild(
      { NODE_OPTIONS: '--enable-source-maps', MALLOC_ARENA_MAX: '4' },
      { canReexecute: false },
    );
    expect(env.NODE_OPTIONS).toBe(`--enable-source-maps ${bridgeNodeOptions()}`);
    expect(env.MALLOC_ARENA_MAX).toBe('4');
  });

  it('measures other flags when given, on either Node, on the command line (NODE_OPTIONS refuses many V8 flags)', () => {
    for (const canReexecute of [true, false]) {
      const { env, nodeArgs } = backlogChild(
        {},
        { canReexecute, nodeFlags: ['--max-old-space-size=96', '--no-maglev'] },
      );
      expect(nodeArgs).toEqual(['--max-old-space-size=96', '--no-maglev']);
      expect(env.NODE_OPTIONS).toBeUndefined();
      // Given every flag, the bin does not re-execute itself: the variable comes from here.
      expect(env.MALLOC_ARENA_MAX).toBe(BRIDGE_ENV.MALLOC_ARENA_MAX);
    }
  });
});
