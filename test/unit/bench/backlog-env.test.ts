import { describe, expect, it } from 'vitest';
import { backlogChildEnv } from '../../../bench/backlog.js';
import { BRIDGE_ENV, bridgeNodeOptions } from '../../../bin/v8-flags.js';

describe("the backlog child's environment: the bridge's shipped settings on every Node", () => {
  it('leaves the flags to the bin where it re-executes itself (Node >= 22.15)', () => {
    const env = backlogChildEnv({ PATH: '/bin' }, { canReexecute: true });
    expect(env).toEqual({ PATH: '/bin', LOG_LEVEL: 'warn' });
  });

  it('gives an older Node the flags and MALLOC_ARENA_MAX as docs/deploy.md tells a Node 20 user to', () => {
    const env = backlogChildEnv({ PATH: '/bin' }, { canReexecute: false });
    expect(env.NODE_OPTIONS).toBe(bridgeNodeOptions());
    expect(env.NODE_OPTIONS).toBe('--max-semi-space-size=2 --max-old-space-size=128');
    expect(env.MALLOC_ARENA_MAX).toBe(BRIDGE_ENV.MALLOC_ARENA_MAX);
  });

  it("keeps the bench's own NODE_OPTIONS and MALLOC_ARENA_MAX, the flags after them", () => {
    const env = backlogChildEnv(
      { NODE_OPTIONS: '--enable-source-maps', MALLOC_ARENA_MAX: '4' },
      { canReexecute: false },
    );
    expect(env.NODE_OPTIONS).toBe(`--enable-source-maps ${bridgeNodeOptions()}`);
    expect(env.MALLOC_ARENA_MAX).toBe('4');
  });

  it('measures other flags when given, on either Node', () => {
    for (const canReexecute of [true, false]) {
      const env = backlogChildEnv({}, { canReexecute, nodeOptions: '--max-old-space-size=96' });
      expect(env.NODE_OPTIONS).toBe('--max-old-space-size=96');
      // Given every flag, the bin does not re-execute itself: the variable comes from here.
      expect(env.MALLOC_ARENA_MAX).toBe(BRIDGE_ENV.MALLOC_ARENA_MAX);
    }
  });
});
