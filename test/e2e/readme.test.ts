/**
 * The README cannot rot: its command table is the one the command definitions give (the same ones
 * the parsers use), it points at nothing outside the repository, and every shell command it shows
 * is either run here or listed with the reason it is not.
 *
 * Commands that need `npm start` running are run against a `dev` this test starts (on free ports:
 * the README's http://127.0.0.1:2379 becomes that dev's etcd URL), which is then stopped as a
 * terminal's Ctrl-C stops it (SIGINT to its whole process group): it must exit 0 without a warning
 * and leave no leader key behind, so that a restart is elected at once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readmeCommandTable } from '../../bridge/cli/help.js';
import { EmbeddedEtcd } from '../../bridge/etcd/embedded-etcd.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = join(ROOT, 'README.md');
const ENTRY = join(ROOT, 'bridge', 'cli', 'entry.ts');
const readme = () => readFileSync(README, 'utf8');

const BEGIN = /<!-- commands:begin[^>]*-->\n/;
const END = '<!-- commands:end -->';

/** Every line of the README's ```sh blocks, comments and blank lines dropped. */
function shellCommands(text: string): string[] {
  const commands: string[] = [];
  for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    // A line ending in a backslash goes on in the next one, as in the shell.
    for (const line of block[1]!.replace(/\\\n\s*/g, '').split('\n')) {
      const command = line.replace(/\s+#.*$/, '').trim();
      if (command && !command.startsWith('#')) commands.push(command);
    }
  }
  return commands;
}

type Plan = { kind: 'offline'; expectOut?: RegExp } | { kind: 'with-dev' } | { kind: 'not-run'; why: string };

/** What this test does with each README command. A command nobody planned for fails the test. */
function plan(command: string): Plan | undefined {
  if (command === 'npm ci && npm start')
    return {
      kind: 'not-run',
      why: 'runs until Ctrl-C: `dev` is started and stopped below, `dev --once` in cli.test.ts',
    };
  if (command === 'npm ci && npm test')
    return { kind: 'not-run', why: 'the whole suite, this test among it' };
  if (/^AWS_ENDPOINT_URL_LAMBDA=\S+ npx etcd-bridge start --invoke lambda$/.test(command))
    return { kind: 'not-run', why: 'needs LocalStack or sam local start-lambda running' };
  if (/^sam local /.test(command)) return { kind: 'not-run', why: 'needs the SAM CLI and Docker' };
  if (/^(localstack |npx cdklocal )/.test(command))
    return { kind: 'not-run', why: 'needs LocalStack (and Docker) running' };
  if (/npx etcd-bridge start --invoke lambda --lambda-endpoint http:\/\/127\.0\.0\.1:3001$/.test(command))
    return {
      kind: 'not-run',
      why: 'needs sam local start-lambda serving the synthesized functions on :3001',
    };
  if (/^npx cdk synth\b/.test(command))
    return { kind: 'not-run', why: 'a minute of CPU; test/infra synthesizes the same app offline' };
  if (/^npx etcd-bridge invoke \S+ --event examples\/events\/\S+\.json$/.test(command))
    return { kind: 'offline', expectOut: /^\{"results":/ };
  const replay = /^npx etcd-bridge replay --trace examples\/traces\/\S+\.jsonl/.test(command);
  if (replay) return { kind: 'offline', expectOut: /: OK\n/ };
  if (/^npx etcd-bridge (status|dlq \w+)\b.*--etcd http:\/\/127\.0\.0\.1:2379/.test(command))
    return { kind: 'with-dev' };
  return undefined;
}

/** `npx etcd-bridge a b c` as the arguments of runCli (the same CLI, from source). */
function cliArgs(command: string): string[] {
  const words = command.split(/\s+/);
  expect(words.slice(0, 2)).toEqual(['npx', 'etcd-bridge']);
  return words.slice(2);
}

describe('README', () => {
  it('its command table is the one the command definitions give', () => {
    const text = readme();
    const begin = BEGIN.exec(text);
    const end = text.indexOf(END);
    expect(begin, 'the README has its <!-- commands:begin --> marker').not.toBeNull();
    expect(end).toBeGreaterThan(begin!.index);
    const table = `${readmeCommandTable()}\n`;
    const current = text.slice(begin!.index + begin![0].length, end);
    if (process.env.UPDATE_README === '1' && current !== table) {
      writeFileSync(README, text.slice(0, begin!.index + begin![0].length) + table + text.slice(end));
      return;
    }
    expect(
      current,
      'README command table (UPDATE_README=1 npx vitest run test/e2e/readme.test.ts rewrites it)',
    ).toBe(table);
  });

  it('points at nothing outside the repository, and every relative link resolves', () => {
    for (const file of [
      README,
      ...['deploy.md', 'performance.md', 'reliability.md'].map((f) => join(ROOT, 'docs', f)),
    ]) {
      if (!existsSync(file)) continue;
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(/\.\.\/shared\b|\/work\/shared/);
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const path = resolve(dirname(file), target!);
        expect(path.startsWith(ROOT), `${file}: ${target} is outside the repository`).toBe(true);
        expect(existsSync(path), `${file}: ${target} exists`).toBe(true);
      }
    }
  });

  it('every shell command it shows is run here or listed with the reason it is not', () => {
    const commands = shellCommands(readme());
    expect(commands.length).toBeGreaterThan(5);
    const unplanned = commands.filter((c) => plan(c) === undefined);
    expect(unplanned, 'README commands this test does not know what to do with').toEqual([]);
  });

  it('the commands that need nothing running work as written (from the repository root)', async () => {
    const offline = shellCommands(readme()).filter((c) => plan(c)?.kind === 'offline');
    expect(offline.length).toBeGreaterThanOrEqual(4);
    for (const command of offline) {
      const p = plan(command) as { kind: 'offline'; expectOut?: RegExp };
      const r = await runCli(cliArgs(command), { timeoutMs: 120_000 });
      expect({ command, code: r.code }, r.stderr).toEqual({ command, code: 0 });
      if (p.expectOut) expect(r.stdout, command).toMatch(p.expectOut);
    }
  }, 300_000);

  describe('with `npm start` running (etcd-bridge dev)', () => {
    let dir: string;
    let dev: ChildProcess;
    let stdout = '';
    let stderr = '';
    let etcdUrl = '';
    let exited: Promise<number | null>;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'readme-dev-'));
      // Its own process group, as a shell's foreground job: Ctrl-C is SIGINT to the whole group.
      dev = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          ENTRY,
          'dev',
          '--data-dir',
          join(dir, 'etcd'),
          '--etcd-port',
          '0',
          '--lambda-port',
          '0',
          '--metrics-port',
          '0',
        ],
        { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      exited = new Promise((done) => dev.once('exit', (code) => done(code)));
      dev.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      dev.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      await waitFor(
        'dev to play the seed and say Ctrl-C stops everything',
        async () => (stdout.includes('Ctrl-C stops everything') ? true : undefined),
        90_000,
        100,
      ).catch((error: unknown) => {
        // What dev said so far is what tells a slow machine from a hang.
        throw new Error(
          `${String(error)}\n--- dev stdout:\n${stdout.slice(-3000)}\n--- dev stderr:\n${stderr.slice(-3000)}`,
        );
      });
      etcdUrl = /etcd\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)![1]!;
    }, 120_000);
    afterAll(async () => {
      if (dev.exitCode === null && dev.signalCode === null) process.kill(-dev.pid!, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    });

    it('dev prints the status and dlq hints for group dev', () => {
      expect(stdout).toContain(`npx etcd-bridge status --etcd ${etcdUrl} --group dev`);
      expect(stdout).toContain(`npx etcd-bridge dlq list --etcd ${etcdUrl} --group dev`);
      expect(stdout).toContain('Records (1), (2) and (3) are identical to the seed.');
    });

    it("the README's status and dlq commands work against it", async () => {
      // Something in the dead-letter queue for show / redrive / delete / purge to work on.
      const client = new Etcd3({ hosts: etcdUrl });
      const put = await client
        .put('/esi-worker/heat_stacks/v2.0/ports/readme-1')
        .value('{"stack_status": "SUSPEND_COMPLETE", "output": []}')
        .exec();
      const revision = put.header.revision;
      client.close();
      const args = (command: string) =>
        cliArgs(
          command
            .replaceAll('http://127.0.0.1:2379', etcdUrl)
            .replaceAll('heat-stacks/42', `heat-stacks/${revision}`),
        );
      await waitFor(
        'the bad record to be dead-lettered',
        async () => {
          const r = await runCli(['dlq', 'list', '--json', '--etcd', etcdUrl, '--group', 'dev']);
          return (JSON.parse(r.stdout) as unknown[]).length > 0 ? true : undefined;
        },
        30_000,
        200,
      );

      const withDev = shellCommands(readme()).filter((c) => plan(c)?.kind === 'with-dev');
      expect(withDev.map((c) => c.split(' ').slice(2, 4).join(' '))).toEqual(
        expect.arrayContaining(['dlq list', 'dlq show', 'dlq redrive', 'dlq delete', 'dlq purge']),
      );
      const outcomes: string[] = [];
      for (const command of withDev) {
        const r = await runCli(args(command), { timeoutMs: 60_000 });
        outcomes.push(`${command.split(' ').slice(2, 4).join(' ')} -> ${r.code}`);
        if (command.includes(' show ')) expect(r.stdout).toContain('RejectedStatusError');
        if (command.includes(' redrive ')) expect(r.stdout).toMatch(/^failed\s+heat-stacks\/\d+/m);
        if (command.includes(' delete ')) expect(r.stdout).toContain(`deleted heat-stacks/${revision}/`);
      }
      // redrive fails again (the record is still bad): exit 1, as documented; everything else 0.
      expect(outcomes).toEqual(
        withDev.map((c) => `${c.split(' ').slice(2, 4).join(' ')} -> ${c.includes(' redrive ') ? 1 : 0}`),
      );
    }, 240_000);

    it('Ctrl-C (twice, as through npm): dev exits 0, nothing warns on the way out, and the leader key is gone (a restart is elected at once)', async () => {
      const before = stderr.length;
      process.kill(-dev.pid!, 'SIGINT');
      // `npm start` forwards the same Ctrl-C to its child: dev sees it twice.
      await new Promise((r) => setTimeout(r, 50));
      try {
        process.kill(dev.pid!, 'SIGINT');
      } catch {
        // Gone already: its exit code below says how.
      }
      expect(await exited).toBe(0);
      const after = stderr.slice(before);
      expect(after, 'what dev logged while stopping').not.toMatch(/WARN|"level":"(WARN|ERROR)"|interrupted/i);
      // The same data dir, etcd alone: a leader key the bridge did not resign would still be there
      // (etcd keeps a lease across a restart until its TTL runs out).
      const etcd = await EmbeddedEtcd.start({ dataDir: join(dir, 'etcd') });
      const client = new Etcd3({ hosts: etcd.clientUrl });
      try {
        const leaders = await client.getAll().prefix('/_etcd-bridge/dev/election/').keys();
        expect(leaders).toEqual([]);
      } finally {
        client.close();
        await etcd.stop();
      }
    }, 60_000);
  });
});
