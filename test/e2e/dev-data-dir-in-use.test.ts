/**
 * A second `npm start` in the same checkout: its default ports fall back to free ones ("a second
 * `npm start` still works", bridge/cli/dev.ts), but its data dir is the first one's .data/etcd,
 * whose db the first etcd holds flocked. It must say so at once (exit 2, naming the data dir and
 * --data-dir), not wait out etcd's start timeout and exit 1 with thirty lines of etcd's log.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const ENTRY = fileURLToPath(new URL('../../bridge/cli/entry.ts', import.meta.url));
const PORTS = ['--etcd-port', '0', '--lambda-port', '0', '--metrics-port', '0'];

describe('dev: a data dir another dev is using', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a second dev on it exits 2 at once naming the data dir', async () => {
    dir = await mkdtemp(join(tmpdir(), 'dev-twice-'));
    const dataDir = join(dir, 'etcd');
    const first = spawn(
      process.execPath,
      ['--import', 'tsx', ENTRY, 'dev', '--data-dir', dataDir, ...PORTS],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    let stdout = '';
    first.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const exited = new Promise((resolve) => first.once('exit', resolve));
    try {
      await waitFor(
        'the first dev to be up',
        () => (stdout.includes('Ctrl-C stops everything') ? true : undefined),
        90_000,
        100,
      );
      const began = Date.now();
      const second = await runCli(['dev', '--once', '--data-dir', dataDir, ...PORTS], { timeoutMs: 60_000 });
      const seconds = (Date.now() - began) / 1000;
      expect({ code: second.code, stderr: second.stderr.split('\n')[0] }).toEqual({
        code: 2,
        stderr: expect.stringContaining(dataDir),
      });
      expect(second.stderr).toContain('--data-dir');
      expect(seconds).toBeLessThan(10);
    } finally {
      first.kill('SIGINT');
      await exited;
    }
  }, 150_000);
});
