/**
 * `etcd-bridge dlq list|show|redrive` and `etcd-bridge status` against a real etcd and a running
 * bridge, run as the CLI runs (a child process from source). The SQS-backed `dlq` is in
 * test/integration/dlq/cli-sqs.test.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bridge } from '../../bridge/bridge.js';
import { parseBridgeConfig } from '../../bridge/config.js';
import { EtcdDeadLetterSink } from '../../bridge/dlq/etcd-sink.js';
import { type DeadLetterRecord, recordId } from '../../bridge/dlq/record.js';
import { InProcessInvoker } from '../../bridge/invoke/in-process.js';
import type { LambdaHandler } from '../../bridge/invoke/lambda-context.js';
import { keyspaceFor, padRevision } from '../../bridge/keyspace.js';
import { loadStageHandler } from '../../bridge/stages.js';
import { statusKey } from '../../bridge/status/schema.js';
import {
  DEFAULT_ROUTES,
  type RouteInput,
  type StageRequest,
  type StageResponse,
} from '../../shared/index.js';
import { startBridge } from '../helpers/bridge.js';
import { runCli } from '../helpers/cli.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { heatStackText } from '../helpers/records.js';
import { waitFor } from '../helpers/wait.js';

/** `etcd-bridge <args>` from source, in a child process. */
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { env, timeoutMs: 45_000 });

const heatKey = (id: string) => `/esi-worker/heat_stacks/v2.0/ports/${id}`;
const jobKey = (id: string) => `/esi-worker/job_state/v2.0/ports/${id}`;
const stateKey = (id: string) => `/state/v2.0/ports/${id}`;

const QUICK = { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 };
const ROUTES: RouteInput[] = [
  { ...DEFAULT_ROUTES[0]!, retry: QUICK },
  { ...DEFAULT_ROUTES[1]!, retry: QUICK },
];

/** The job-state function, broken for the ids in `broken` (a retryable failure each), real for the rest. */
function breakableJobState(real: LambdaHandler, broken: Set<string>): LambdaHandler {
  return async (event, context) => {
    const request = event as StageRequest;
    const isBroken = (key: string) => broken.has(key.split('/').at(-1) ?? '');
    const healthy = request.records.filter((r) => !isBroken(r.key));
    const answer = (
      healthy.length > 0
        ? await real({ ...request, records: healthy }, context)
        : { results: [], batchItemFailures: [] }
    ) as StageResponse;
    return {
      results: answer.results,
      batchItemFailures: [
        ...answer.batchItemFailures,
        ...request.records
          .filter((r) => isBroken(r.key))
          .map((r) => ({
            itemIdentifier: r.id,
            retryable: true,
            error: 'job-state is broken',
            errorType: 'BrokenFunction',
          })),
      ],
    };
  };
}

describe('etcd-bridge dlq and status against a running bridge', () => {
  const group = 'cli';
  const keyspace = keyspaceFor(group);
  const broken = new Set<string>();
  let fixture: EtcdFixture;
  let bridge: Bridge;
  let dir: string;
  let configFile: string;
  let sink: EtcdDeadLetterSink;

  beforeAll(async () => {
    fixture = await startEtcd();
    dir = await mkdtemp(join(tmpdir(), 'cli-dlq-'));
    configFile = join(dir, 'bridge.json');
    await writeFile(
      configFile,
      JSON.stringify({ etcd: { endpoints: [fixture.etcd.clientUrl] }, group, routes: ROUTES }),
    );
    const invoker = new InProcessInvoker(10_000, {
      'job-state': breakableJobState(await loadStageHandler('job-state'), broken),
    });
    bridge = await startBridge(fixture, { group, routes: ROUTES }, { invoker });
    sink = new EtcdDeadLetterSink(fixture.client, keyspace);
  });
  afterAll(async () => {
    await bridge?.stop();
    await stopEtcd(fixture);
    await rm(dir, { recursive: true, force: true });
  });

  const read = (key: string) => fixture.client.get(key).string();
  const dlqOf = async (id: string) => (await sink.list()).filter((e) => e.record.key.endsWith(`/${id}`));
  const waitDeadLettered = (id: string, count = 1) =>
    waitFor(`${count} dead-letter record(s) of ${id}`, async () => {
      const entries = await dlqOf(id);
      return entries.length >= count ? entries : undefined;
    });

  it('lists and shows a record, and redrive brings it through once the function is fixed', async () => {
    // Prepare: job-state is broken for this id, so its job_state record is dead-lettered
    broken.add('fix-1');
    await fixture.client.put(heatKey('fix-1')).value(heatStackText({}));
    const [entry] = await waitDeadLettered('fix-1');
    const record = entry!.record;
    expect(record).toMatchObject({
      route: 'job-state',
      key: jobKey('fix-1'),
      errorType: 'BrokenFunction',
      attempts: 2,
    });
    const id = recordId(record);

    // list --json
    const listed = await cli(['dlq', 'list', '--json', '--route', 'job-state', '--config', configFile]);
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout) as Array<DeadLetterRecord & { id: string }>;
    expect(rows.find((r) => r.id === id)).toEqual({ id, ...record });
    // list (text), show (by route/revision) and show --json
    const text = await cli(['dlq', 'list', '--config', configFile]);
    expect(text.stdout).toContain(`${id}  ${jobKey('fix-1')}@${record.modRevision}  attempts 2`);
    const shown = await cli(['dlq', 'show', `job-state/${record.modRevision}`, '--config', configFile]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`key:           ${jobKey('fix-1')}`);
    expect(shown.stdout).toContain('error:         BrokenFunction: job-state is broken');
    expect(shown.stdout).toContain(record.value!.split('\n')[1]!);
    const shownJson = await cli(['dlq', 'show', id, '--json', '--config', configFile]);
    expect(JSON.parse(shownJson.stdout)).toEqual({ id, ...record });
    expect(await read(stateKey('fix-1'))).toBeNull();

    // Act: the function is fixed (the CLI runs the real one in-process); redrive it
    const redriven = await cli(['dlq', 'redrive', '--id', id, '--config', configFile]);

    // Assess: its state record appears, the job_state record it processed is deleted, the entry is gone
    expect(redriven.stderr).not.toContain('Error');
    expect(redriven.code).toBe(0);
    expect(redriven.stdout).toContain(`redriven   ${id}`);
    expect(redriven.stdout).toContain('redrive: 1 redriven, 0 superseded, 0 failed again, 0 skipped');
    expect(await read(stateKey('fix-1'))).toContain('"worker_state": "CREATE_COMPLETED"');
    expect(await read(jobKey('fix-1'))).toBeNull();
    expect(await dlqOf('fix-1')).toEqual([]);
    expect(await read(keyspace.applied('job-state', jobKey('fix-1')))).toBe(padRevision(record.modRevision));
    const missing = await cli(['dlq', 'show', id, '--config', configFile]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no dead-lettered record ${id}`);
  });

  it('drops a superseded record (a newer revision of its key was applied since) without writing', async () => {
    // Prepare: the first job_state revision is dead-lettered; then the function is fixed and a newer one applies
    broken.add('sup-2');
    await fixture.client.put(heatKey('sup-2')).value(heatStackText({}));
    const [old] = await waitDeadLettered('sup-2');
    broken.delete('sup-2');
    await fixture.client.put(heatKey('sup-2')).value(heatStackText({ stack_status: 'UPDATE_COMPLETE' }));
    const newer = await waitFor('the newer state record', async () => {
      const state = await read(stateKey('sup-2'));
      return state?.includes('MODIFY_COMPLETED') ? state : undefined;
    });
    const marker = await waitFor('the newer marker', async () => {
      const value = await read(keyspace.applied('job-state', jobKey('sup-2')));
      return value !== null && BigInt(value) > BigInt(old!.record.modRevision) ? value : undefined;
    });

    // Act
    const result = await cli(['dlq', 'redrive', '--route', 'job-state', '--json', '--config', configFile]);

    // Assess
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      superseded: number;
      outcomes: Array<Record<string, unknown>>;
    };
    expect(summary.outcomes).toContainEqual({
      outcome: 'superseded',
      id: recordId(old!.record),
      key: jobKey('sup-2'),
      modRevision: old!.record.modRevision,
      appliedRevision: BigInt(marker).toString(),
    });
    expect(await dlqOf('sup-2')).toEqual([]);
    expect(await read(stateKey('sup-2'))).toBe(newer);
    expect(await read(keyspace.applied('job-state', jobKey('sup-2')))).toBe(marker);
  });

  it('keeps a record that fails again, with one more attempt and the new error', async () => {
    await fixture.client.put(heatKey('bad-3')).value('{"stack_status": ');
    const [entry] = await waitDeadLettered('bad-3');
    expect(entry!.record).toMatchObject({
      route: 'heat-stacks',
      attempts: 1,
      errorType: 'RecordValidationError',
    });

    const result = await cli([
      'dlq',
      'redrive',
      '--id',
      `heat-stacks/${entry!.record.modRevision}`,
      '--config',
      configFile,
    ]);

    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`failed     ${recordId(entry!.record)}`);
    expect(result.stdout).toContain('0 redriven, 0 superseded, 1 failed again, 0 skipped');
    const [after] = await dlqOf('bad-3');
    expect(after?.record).toMatchObject({
      ...entry!.record,
      attempts: 2,
      errorType: 'RecordValidationError',
      errorMessage: expect.stringContaining('(redrive)'),
      lastAttemptAt: expect.any(String),
      deadLetteredAt: expect.any(String),
    });
    expect(Date.parse(after!.record.lastAttemptAt)).toBeGreaterThan(Date.parse(entry!.record.lastAttemptAt));
    expect(await read(jobKey('bad-3'))).toBeNull();
  });

  it('status --json shows per-route checkpoint, head, lag, in flight, dead-lettered and the leader', async () => {
    // Prepare: a status published after everything above
    const since = Date.now();
    await waitFor('a fresh published status', async () => {
      const text = await read(statusKey(keyspace));
      return text !== null && Date.parse((JSON.parse(text) as { publishedAt: string }).publishedAt) > since;
    });

    // Act
    const result = await cli(['status', '--json', '--config', configFile]);

    // Assess
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      group: string;
      headRevision: string;
      leader: string;
      published: { bridgeId: string; stale: boolean };
      deadLetterSink: string;
      routes: Array<{
        route: string;
        checkpoint: string;
        headRevision: string;
        lag: string;
        lagFrom: string;
        inFlight: number;
        deadLettered: number;
        published: { held: number; lagRevisions: string; stats: Record<string, number> };
      }>;
    };
    expect(report).toMatchObject({
      group,
      leader: bridge.bridgeId,
      published: { bridgeId: bridge.bridgeId, stale: false },
      deadLetterSink: 'etcd',
    });
    expect(report.routes.map((r) => r.route)).toEqual(['heat-stacks', 'job-state']);
    for (const route of report.routes) {
      const checkpoint = await fixture.client.get(keyspace.checkpoint(route.route)).string();
      expect(BigInt(route.checkpoint)).toBeLessThanOrEqual(BigInt(checkpoint!));
      expect(route.headRevision).toBe(report.headRevision);
      // The leader's own figure (the one /metrics gives): nothing under the route's prefix is
      // waiting, however far the head has moved with checkpoints and status writes.
      expect(route).toMatchObject({ lag: '0', lagFrom: 'leader' });
      expect(route.lag).toBe(route.published.lagRevisions);
      expect(route.inFlight).toBe(0);
      expect(route.deadLettered).toBe(await sink.count(route.route));
      expect(route.published.stats.received).toBeGreaterThan(0);
    }
    // heat-stacks holds bad-3; job-state holds nothing any more (fix-1 redriven, sup-2 superseded)
    expect(report.routes.map((r) => r.deadLettered)).toEqual([1, 0]);

    const table = await cli(['status', '--config', configFile]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/ROUTE\s+CHECKPOINT\s+HEAD\s+LAG\s+IN FLIGHT\s+DEAD-LETTERED/);
    expect(table.stdout).toMatch(/heat-stacks\s+\d+\s+\d+\s+\d+\s+0\s+1/);
  });

  it('refuses a bad command line with exit code 2', async () => {
    for (const args of [
      ['dlq'],
      ['dlq', 'show'],
      ['dlq', 'list', '--invoke', 'lambda'],
      ['dlq', 'list', '--route', 'nope', '--config', configFile],
      ['dlq', 'redrive', '--bogus'],
      ['status', 'extra'],
    ]) {
      const result = await cli(args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(/^etcd-bridge: (dlq|status)/);
    }
  });
});

describe('etcd-bridge status with etcd authentication', () => {
  const SECRET = 'Sup3r-Secret-Pa55';
  const group = 'authed';
  let fixture: EtcdFixture;
  let bridge: Bridge | undefined;
  let dir: string;
  let configFile: string;

  beforeAll(async () => {
    fixture = await startEtcd();
    await fixture.client.user('root').create(SECRET);
    await fixture.client.user('root').addRole('root');
    await fixture.client.auth.authEnable();
    dir = await mkdtemp(join(tmpdir(), 'cli-status-'));
    configFile = join(dir, 'bridge.json');
    await writeFile(
      configFile,
      JSON.stringify({
        etcd: { endpoints: [fixture.etcd.clientUrl], username: 'root' },
        group,
        routes: ROUTES,
      }),
    );
  });
  afterAll(async () => {
    await bridge?.stop();
    fixture.client.close();
    await stopEtcd(fixture);
    await rm(dir, { recursive: true, force: true });
  });

  it('shows the running bridge and never prints the etcd password; stale once the leader is gone', async () => {
    // Prepare: a bridge with its own authenticated client, as `start` runs it
    const config = parseBridgeConfig({
      etcd: { endpoints: [fixture.etcd.clientUrl], username: 'root', password: SECRET },
      group,
      routes: ROUTES,
      observability: { port: 0 },
      leaseTtlSeconds: 2,
    });
    bridge = await Bridge.start(config);
    const env = { ETCD_PASSWORD: SECRET };

    // Act
    const result = await waitFor('a status with the leader', async () => {
      const r = await cli(['status', '--json', '--config', configFile], env);
      return r.code === 0 && (JSON.parse(r.stdout) as { published: unknown }).published !== null
        ? r
        : undefined;
    });

    // Assess
    const report = JSON.parse(result.stdout) as {
      leader: string;
      published: { stale: boolean };
      routes: unknown[];
    };
    expect(report.leader).toBe(bridge.bridgeId);
    expect(report.published.stale).toBe(false);
    expect(report.routes).toHaveLength(2);
    const text = await cli(['status', '--config', configFile], env);
    const list = await cli(['dlq', 'list', '--config', configFile], env);
    expect(text.code).toBe(0);
    expect(list.code).toBe(0);
    for (const output of [result, text, list])
      expect(`${output.stdout}${output.stderr}`).not.toContain(SECRET);
    // The published status itself holds no secret either
    const authed = new (await import('etcd3')).Etcd3({
      hosts: fixture.etcd.clientUrl,
      auth: { username: 'root', password: SECRET },
    });
    try {
      expect(await authed.get(statusKey(keyspaceFor(group))).string()).not.toContain(SECRET);
    } finally {
      authed.close();
    }
    // A wrong password fails without echoing what was given
    const wrong = await cli(['status', '--config', configFile], { ETCD_PASSWORD: 'Wrong-Pa55-Given' });
    expect(wrong.code).toBe(1);
    expect(`${wrong.stdout}${wrong.stderr}`).not.toContain('Wrong-Pa55-Given');

    // Once the leader is gone, its last status is stale
    await bridge.stop();
    bridge = undefined;
    const after = await cli(['status', '--json', '--config', configFile], env);
    const stale = JSON.parse(after.stdout) as {
      leader: string | null;
      published: { stale: boolean };
      routes: Array<{ inFlight: number | null }>;
    };
    expect(stale.leader).toBeNull();
    expect(stale.published.stale).toBe(true);
    expect(stale.routes.every((r) => r.inFlight === null)).toBe(true);
  });
});
