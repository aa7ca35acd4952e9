/**
 * The bin re-executes `start` and `dev` with the bridge's heap settings (bin/v8-flags.js) on a Node
 * that can (process.execve: Node 24, the image's). `--verbose` is taken from anywhere on the line
 * (bridge/cli/main.ts), so `etcd-bridge --verbose start` runs `start` and must get them too. Run on
 * the project's Node 24 whichever Node runs the tests; a --require probe prints each process's
 * execArgv.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { bridgeNodeOptions } from '../../bin/v8-flags.js';
import { ensureRuntimeTools } from '../../bridge/lambda-endpoint/runtime/runtime-tools.js';

const BIN = fileURLToPath(new URL('../../bin/etcd-bridge.js', import.meta.url));

describe('bin: the re-exec with heap flags (Node 24)', () => {
  let node24: string;
  const probe = join(mkdtempSync(join(tmpdir(), 'bin-probe-')), 'probe.cjs');
  writeFileSync(probe, 'process.stderr.write("PROBE " + JSON.stringify(process.execArgv) + "\\n");\n');

  beforeAll(async () => {
    node24 = (await ensureRuntimeTools()).node;
  }, 120_000);

  /** The execArgv of the last process the bin ran as (after its re-exec, if any). */
  const lastExecArgv = (args: string[]): string[] => {
    const run = spawnSync(node24, [BIN, ...args], {
      env: { ...process.env, NODE_OPTIONS: `--require ${probe}`, MALLOC_ARENA_MAX: undefined },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(2); // the bad flag, refused after the re-exec
    const probes = run.stderr.split('\n').filter((line) => line.startsWith('PROBE '));
    return JSON.parse(probes.at(-1)?.slice('PROBE '.length) ?? '[]') as string[];
  };

  it.each([[['start', '--verbose', '--bogus']], [['--verbose', 'start', '--bogus']]])(
    '%j runs with the bridge heap flags',
    (args) => {
      expect(lastExecArgv(args)).toEqual(bridgeNodeOptions().split(' '));
    },
  );

  it('a command that is not a bridge is not re-executed', () => {
    expect(lastExecArgv(['--verbose', 'status', '--bogus'])).toEqual([]);
  });
});
