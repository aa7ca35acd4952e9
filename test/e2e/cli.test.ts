import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allDefinitions } from '../../bridge/cli/definitions.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const ENTRY = fileURLToPath(new URL('../../bridge/cli/entry.ts', import.meta.url));

import { seed } from '../helpers/seed.js';

const dir = mkdtempSync(join(tmpdir(), 'etcd-bridge-cli-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const fixture = (name: string) => fileURLToPath(new URL(`../../examples/traces/${name}`, import.meta.url));

describe('etcd-bridge CLI', () => {
  it('--help of every command and dlq subcommand: each flag its parser takes, its default, the environment, an example; exit 0', async () => {
    for (const def of allDefinitions()) {
      const { code, stdout, stderr } = await runCli([...def.name.split(' '), '--help']);
      expect({ command: def.name, code, stderr }).toEqual({ command: def.name, code: 0, stderr: '' });
      expect(stdout).toContain(`usage: etcd-bridge ${def.name}`);
      for (const [flag, spec] of Object.entries(def.flags)) {
        expect(stdout, `${def.name} --help names --${flag}`).toMatch(new RegExp(`--${flag}\\b`));
        const shown = spec.type === 'string' ? String(spec.default ?? spec.shownDefault ?? '') : '';
        if (shown)
          expect(stdout, `${def.name} --help gives the default of --${flag}`).toContain(
            `(default: ${shown})`,
          );
      }
      for (const env of def.env) expect(stdout).toContain(env.name);
      expect(stdout).toContain(`example:\n  ${def.example}`);
    }
    const dlq = await runCli(['dlq', '--help']);
    for (const sub of ['list', 'show', 'redrive', 'delete', 'purge'])
      expect(dlq.stdout).toMatch(new RegExp(`^  ${sub} `, 'm'));
  });

  it('--version prints the package version; no command prints the commands and exits 2', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const version = await runCli(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    const none = await runCli([]);
    expect(none.code).toBe(2);
    for (const def of allDefinitions().filter((d) => !d.name.includes(' ')))
      expect(none.stderr).toContain(`  ${def.name} `);
  });

  it('a bad flag value is one message naming the flag and what it accepts', async () => {
    const { code, stderr } = await runCli(['start', '--start-position', 'yesterday', '--skip-preflight']);
    expect(code).toBe(2);
    expect(stderr).toContain('--start-position must be latest, earliest, resync or a revision');
    expect(stderr).toContain('yesterday');
    expect(stderr).not.toContain('routes.0');
    // etcd's first revision is 1: a checkpoint before 0 could not be read back.
    const zero = await runCli(['start', '--start-position', '0', '--skip-preflight']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--start-position must be');
  });

  it('lambda-endpoint checks --etcd, --group and --port before it serves anything', async () => {
    const etcd = await runCli(['lambda-endpoint', '--port', '0', '--etcd', 'notaurl']);
    expect(etcd.code).toBe(2);
    expect(etcd.stderr).toContain('--etcd: must be http(s)://host[:port], got "notaurl"');
    const group = await runCli([
      'lambda-endpoint',
      '--port',
      '0',
      '--etcd',
      'http://127.0.0.1:1',
      '--group',
      'a/b',
    ]);
    expect(group.code).toBe(2);
    expect(group.stderr).toContain('--group: ');
    const port = await runCli(['lambda-endpoint', '--port', '']);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('--port must be 0-65535');
    // A host that is no name (or no address of this machine) is the flag's mistake too.
    for (const badHost of ['999.1.1.1', '192.0.2.1']) {
      const host = await runCli(['lambda-endpoint', '--port', '0', '--host', badHost]);
      expect({ code: host.code, stderr: host.stderr }, badHost).toMatchObject({
        code: 2,
        stderr: expect.stringContaining(`cannot listen on ${badHost}`),
      });
      expect(host.stderr).toContain('--host');
    }
  });

  it('invoke: stdout is exactly the function response; exit 0', async () => {
    const event = file(
      'event.json',
      JSON.stringify({
        route: 'heat-stacks',
        records: [
          {
            id: 'a',
            type: 'put',
            key: seed.heatStack.key,
            value: seed.heatStack.value,
            modRevision: '5',
            reads: {},
          },
          { id: 'b', type: 'put', key: seed.heatStack.key, value: 'not json', modRevision: '6', reads: {} },
        ],
      }),
    );
    const { code, stdout } = await runCli(['invoke', 'heat-stacks', '--event', event]);
    expect(code).toBe(0);
    const response = JSON.parse(stdout);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(response.results).toEqual([
      { id: 'a', mutations: [{ op: 'put', key: seed.jobState.key, value: seed.jobState.value }] },
    ]);
    expect(response.batchItemFailures).toEqual([
      expect.objectContaining({
        itemIdentifier: 'b',
        retryable: false,
        error: expect.stringContaining('invalid JSON'),
      }),
    ]);
  });

  it('invoke: a batch that is not the contract makes the function throw; exit 1 with the field named', async () => {
    const { code, stdout } = await runCli([
      'invoke',
      'job-state',
      '--event',
      file('bad.json', '{"route": 1}'),
    ]);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({
      errorType: 'ParseError',
      errorMessage: expect.stringContaining('route:'),
    });
  });

  it('bad flags and bad config exit 2 with a message naming them', async () => {
    const unknownFlag = await runCli(['invoke', 'heat-stacks', '--evnt', 'x']);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toMatch(/--evnt/);
    const badConfig = await runCli([
      'start',
      '--config',
      file('c.json', '{"maxInFlight": -1, "routes": []}'),
    ]);
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toMatch(/maxInFlight/);
    expect(badConfig.stderr).toMatch(/routes/);
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
  });

  it('a failure is one line; --verbose adds its details', async () => {
    const plain = await runCli(['dlq', 'list', '--etcd', 'http://127.0.0.1:1']);
    expect(plain.code).toBe(1);
    expect(plain.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^etcd-bridge dlq list: .*ECONNREFUSED/),
    ]);
    const verbose = await runCli(['dlq', 'list', '--etcd', 'http://127.0.0.1:1', '--verbose']);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr.split('\n').length).toBeGreaterThan(3);
    expect(verbose.stderr).toMatch(/^\s+at /m);
  });

  it('the example events: valid ones answered in full (the seed records), bad records in batchItemFailures', async () => {
    const example = (name: string) =>
      fileURLToPath(new URL(`../../examples/events/${name}`, import.meta.url));
    const run = async (stage: string, name: string) => {
      const r = await runCli(['invoke', stage, '--event', example(name)]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as {
        results: Array<{ id: string; mutations: Array<{ key: string; value?: string }> }>;
        batchItemFailures: Array<{ itemIdentifier: string; errorType?: string }>;
      };
    };
    const heat = await run('heat-stacks', 'heat-stacks.json');
    expect(heat.batchItemFailures).toEqual([]);
    expect(heat.results[0]?.mutations[0]).toEqual({
      op: 'put',
      key: seed.jobState.key,
      value: seed.jobState.value,
    });
    const job = await run('job-state', 'job-state.json');
    expect(job.batchItemFailures).toEqual([]);
    expect(job.results[0]?.mutations[0]).toEqual({ op: 'put', key: seed.state.key, value: seed.state.value });
    const badHeat = await run('heat-stacks', 'heat-stacks-bad-record.json');
    expect(badHeat.results.map((r) => r.id)).toEqual(['1']);
    expect(badHeat.batchItemFailures.map((f) => [f.itemIdentifier, f.errorType])).toEqual([
      ['2', 'RejectedStatusError'],
      ['3', 'RecordValidationError'],
    ]);
    const badJob = await run('job-state', 'job-state-bad-record.json');
    expect(badJob.results.map((r) => [r.id, r.mutations.length])).toEqual([
      ['1', 2],
      ['3', 0],
    ]);
    expect(badJob.batchItemFailures.map((f) => [f.itemIdentifier, f.errorType])).toEqual([
      ['2', 'RejectedStatusError'],
    ]);
  });

  it('replay --json: the last stdout line is the summary; exit 0 on a full match', async () => {
    const { code, stdout } = await runCli(['replay', '--trace', fixture('seed-operation.jsonl'), '--json']);
    expect(code).toBe(0);
    const last = stdout.trim().split('\n').at(-1)!;
    expect(JSON.parse(last)).toEqual({ expected: 3, matched: 3, extra: 0, mismatches: [] });
  });

  it('dev whose terminal hangs up (SIGHUP to its process group) leaves no etcd running', async () => {
    const dev = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        ENTRY,
        'dev',
        '--data-dir',
        join(dir, 'hup-etcd'),
        '--etcd-port',
        '0',
        '--lambda-port',
        '0',
        '--metrics-port',
        '0',
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let stdout = '';
    dev.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const exited = new Promise((resolve) => dev.once('exit', resolve));
    try {
      await waitFor(
        'dev to be up',
        () => (stdout.includes('Ctrl-C stops everything') ? true : undefined),
        90_000,
        100,
      );
    } catch (error) {
      process.kill(-dev.pid!, 'SIGKILL');
      throw error;
    }
    const url = /etcd\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)![1]!;
    process.kill(-dev.pid!, 'SIGHUP');
    await exited;
    await waitFor(
      'etcd to be gone',
      async () => {
        try {
          await fetch(`${url}/health`, { signal: AbortSignal.timeout(500) });
          return undefined;
        } catch {
          return true;
        }
      },
      10_000,
      100,
    );
  }, 120_000);

  it('dev --once: etcd, the local Lambda endpoint and the bridge over HTTP reproduce the seed', async () => {
    const { code, stdout } = await runCli([
      'dev',
      '--once',
      '--data-dir',
      join(dir, 'etcd-data'),
      '--etcd-port',
      '0',
      '--lambda-port',
      '0',
      '--metrics-port',
      '0',
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain('(2) job_state');
    expect(stdout).toContain('Records (1), (2) and (3) are identical to the seed.');
  });
});
