/**
 * Closing a function's environment pool while an environment is still starting (a cold start under
 * way when the endpoint stops) must not leave that environment's runtime process running: nothing
 * would ever kill it, and it would keep the endpoint's process alive.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EnvironmentPool } from '../../bridge/lambda-endpoint/runtime/environment-pool.js';
import { ensureRuntimeTools } from '../../bridge/lambda-endpoint/runtime/runtime-tools.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../../bridge/lambda-endpoint/server.js';

const TASK_ROOT = fileURLToPath(new URL('../fixtures/ric/handler', import.meta.url));

/** The pids of this process's children whose command line names `entry`. */
function childrenRunning(entry: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The parent pid is the second field after the parenthesised command name.
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent !== process.pid) continue;
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(entry)) pids.push(Number(name));
    } catch {
      // The process ended while it was being read.
    }
  }
  return pids;
}

describe('an environment pool closed during a cold start', () => {
  it('kills the environment that finishes starting after close(), and refuses its invocation', async () => {
    const tools = await ensureRuntimeTools();
    const pool = new EnvironmentPool({
      spec: {
        functionName: 'fixture',
        taskRoot: TASK_ROOT,
        handler: 'index.handler',
        memoryMiB: 128,
        timeoutMs: 5000,
        environment: {},
        logFormat: 'Text',
        region: 'eu-west-1',
        maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
      },
      tools,
      concurrency: 2,
      reserved: false,
      onLog: () => {},
    });
    // invoke() begins the cold start at once; close() lands before the environment exists.
    const invocation = pool.invoke('r-1', '{}', false);
    const closed = pool.close();
    await expect(invocation).rejects.toThrow('the endpoint is closing');
    await closed;
    expect(pool.size).toBe(0);
    expect(pool.environments()).toEqual([]);
    expect(childrenRunning(tools.ric)).toEqual([]);
  });
});
