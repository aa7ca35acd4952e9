import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  applyBufferPoolSize,
  BRIDGE_BUFFER_POOL_SIZE,
  BRIDGE_ENV,
  BRIDGE_V8_FLAGS,
  bridgeEnv,
  bridgeNodeOptions,
  missingBridgeEnv,
  missingV8Flags,
} from '../../../bin/v8-flags.js';

describe('the bridge process heap flags (bin/v8-flags.js)', () => {
  it('adds every flag to a plain start', () => {
    expect(missingV8Flags([], '')).toEqual([
      `--max-semi-space-size=${BRIDGE_V8_FLAGS['--max-semi-space-size']}`,
      `--max-old-space-size=${BRIDGE_V8_FLAGS['--max-old-space-size']}`,
    ]);
  });

  it('leaves a flag the user gave, on the command line or in NODE_OPTIONS, in either spelling', () => {
    expect(missingV8Flags(['--max-old-space-size=300'], '')).toEqual([
      `--max-semi-space-size=${BRIDGE_V8_FLAGS['--max-semi-space-size']}`,
    ]);
    expect(missingV8Flags([], '--enable-source-maps --max_semi_space_size=8')).toEqual([
      `--max-old-space-size=${BRIDGE_V8_FLAGS['--max-old-space-size']}`,
    ]);
    // After the re-exec both are on the command line: nothing more to add, so no second re-exec.
    expect(missingV8Flags(missingV8Flags([], ''), '')).toEqual([]);
  });

  it('gives the same flags as NODE_OPTIONS, and the image starts the bridge with them', () => {
    const options = bridgeNodeOptions().split(' ');
    expect(options).toEqual(missingV8Flags([], ''));
    const dockerfile = readFileSync(new URL('../../../Dockerfile', import.meta.url), 'utf8');
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(entrypoint ?? '[]')).toEqual(['node', ...options, 'bin/etcd-bridge.js']);
    for (const [name, value] of Object.entries(BRIDGE_ENV))
      expect(dockerfile).toContain(`ENV ${name}=${value}\n`);
  });

  it('re-executes with the environment the bridge wants, unless the user set it', () => {
    expect(bridgeEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin', ...BRIDGE_ENV });
    expect(bridgeEnv({ MALLOC_ARENA_MAX: '8' }).MALLOC_ARENA_MAX).toBe('8');
  });

  it('re-executes for a missing variable even when every flag was given', () => {
    expect(missingBridgeEnv({ NODE_OPTIONS: bridgeNodeOptions() })).toEqual(['MALLOC_ARENA_MAX']);
    expect(missingBridgeEnv(bridgeEnv({}))).toEqual([]);
  });

  it("lowers Buffer's pool size to Node 20's 8 KiB, and never raises it", () => {
    expect(BRIDGE_BUFFER_POOL_SIZE).toBe(8 * 1024);
    const node24 = { poolSize: 64 * 1024 };
    applyBufferPoolSize(node24);
    expect(node24.poolSize).toBe(BRIDGE_BUFFER_POOL_SIZE);
    const smaller = { poolSize: 4 * 1024 };
    applyBufferPoolSize(smaller);
    expect(smaller.poolSize).toBe(4 * 1024);
  });

  it('cuts small Buffers from slabs of that size once applied', () => {
    const before = Buffer.poolSize;
    try {
      applyBufferPoolSize();
      // Enough small copies to use up the slab in use and start new ones.
      const copies = Array.from({ length: 64 }, () => Buffer.from(new Uint8Array(2_000)));
      expect(copies.at(-1)?.buffer.byteLength).toBe(Math.min(before, BRIDGE_BUFFER_POOL_SIZE));
    } finally {
      Buffer.poolSize = before;
    }
  });
});
