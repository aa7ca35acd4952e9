/**
 * The one history checker (test/helpers/history-check.ts: the soak's checkSoak, the fault tests'
 * checkPipeline) on hand-made histories: a clean one passes, and each planted violation is counted
 * under its own name and reported to the fault tests in words.
 */
import { describe, expect, it } from 'vitest';
import { keyspaceFor, padRevision } from '../../bridge/keyspace.js';
import { workerStateFor } from '../../shared/worker-state.js';
import type { HistoryEvent } from '../helpers/etcd.js';
import { checkPipeline, heatKey, heatStackValue, jobKey, stateKey } from '../helpers/workload.js';
import { checkSoak, passed } from './check.js';

const GROUP = 'g';
const keyspace = keyspaceFor(GROUP);

/** Builds a history the way the bridge writes it: one revision per transaction. */
class History {
  readonly events: HistoryEvent[] = [];
  private revision = 1;
  private readonly lastWorkerState = new Map<string, string>();

  txn(...ops: Array<{ key: string; value?: string; type?: 'delete' }>): number {
    const revision = ++this.revision;
    for (const o of ops)
      this.events.push({
        key: o.key,
        type: o.type ?? 'put',
        value: o.value ?? '',
        modRevision: revision,
        createRevision: 0,
        version: 0,
      });
    return revision;
  }

  heat(ref: string, seq: number, status = 'UPDATE_COMPLETE'): number {
    return this.txn({ key: heatKey(ref), value: heatStackValue(seq, status) });
  }

  job(ref: string, source: number, seq: number, status = 'UPDATE_COMPLETE'): number {
    return this.txn(
      {
        key: jobKey(ref),
        value: JSON.stringify({
          heat_outputs: [{ output_key: 'n', output_value: seq }],
          orchestration_state: status,
        }),
      },
      { key: keyspace.applied('heat-stacks', heatKey(ref)), value: padRevision(String(source)) },
    );
  }

  state(
    ref: string,
    source: number,
    seq: number,
    options: { deleteJob?: boolean; status?: string } = {},
  ): number {
    const workerState = workerStateFor(options.status ?? 'UPDATE_COMPLETE', this.lastWorkerState.get(ref))!;
    this.lastWorkerState.set(ref, workerState.workerState);
    const value = JSON.stringify({
      state: {
        worker_state: workerState.workerState,
        heat_outputs: JSON.stringify([{ output_key: 'n', output_value: seq }]),
        orchestration_state: options.status ?? 'UPDATE_COMPLETE',
      },
      version: 1,
      error: '',
    });
    return this.txn(
      { key: stateKey(ref), value },
      { key: keyspace.applied('job-state', jobKey(ref)), value: padRevision(String(source)) },
      ...(options.deleteJob === false ? [] : [{ key: jobKey(ref), type: 'delete' as const }]),
    );
  }

  /** heat → job_state → state, one after the other. */
  flow(ref: string, seq: number): { heat: number; job: number; state: number } {
    const heat = this.heat(ref, seq);
    const job = this.job(ref, heat, seq);
    const state = this.state(ref, job, seq);
    return { heat, job, state };
  }
}

describe('checkSoak', () => {
  it('passes a clean history, as checkPipeline does', () => {
    const h = new History();
    h.flow('ports/a', 1);
    h.flow('ports/b', 2);
    h.flow('ports/a', 3);
    // Two revisions of one key before the bridge got to them: the first state does not delete.
    const r4 = h.heat('ports/b', 4);
    const r5 = h.heat('ports/b', 5);
    const j4 = h.job('ports/b', r4, 4);
    const j5 = h.job('ports/b', r5, 5);
    h.state('ports/b', j4, 4, { deleteJob: false });
    h.state('ports/b', j5, 5);

    const check = checkSoak(h.events, { group: GROUP });

    expect(check.problems).toEqual([]);
    expect(passed(check)).toBe(true);
    expect(check).toMatchObject({ records: 5, keys: 2, jobStatePuts: 5, statePuts: 5, jobStateDeletes: 4 });
    expect(check.chains).toHaveLength(5);
    expect(checkPipeline(h.events, { group: GROUP }).problems).toEqual([]);
  });

  it('counts a heat stack revision with no job_state as lost', () => {
    const h = new History();
    h.flow('ports/a', 1);
    h.heat('ports/a', 2);

    const check = checkSoak(h.events, { group: GROUP });

    expect(check.lost).toBe(1);
    expect(check.unfinished).toBe(1);
    expect(passed(check)).toBe(false);
  });

  it('counts a job_state committed twice from one heat stack revision as duplicated', () => {
    const h = new History();
    const { heat } = h.flow('ports/a', 1);
    const again = h.job('ports/a', heat, 1);
    h.state('ports/a', again, 1);

    const check = checkSoak(h.events, { group: GROUP });

    expect(check.duplicated).toBe(1);
    expect(check.lost).toBe(0);
  });

  it('counts a state committed twice from one job_state as duplicated', () => {
    const h = new History();
    const { job } = h.flow('ports/a', 1);
    h.state('ports/a', job, 1, { deleteJob: false });

    expect(checkSoak(h.events, { group: GROUP }).duplicated).toBe(1);
  });

  it('counts an older revision committed after a newer one as out of order', () => {
    const h = new History();
    const r1 = h.heat('ports/a', 1);
    const r2 = h.heat('ports/a', 2);
    const j2 = h.job('ports/a', r2, 2);
    const j1 = h.job('ports/a', r1, 1);
    h.state('ports/a', j2, 2, { deleteJob: false });
    h.state('ports/a', j1, 1);

    const check = checkSoak(h.events, { group: GROUP });

    expect(check.outOfOrder).toBe(1);
    expect(check.unfinished).toBe(1); // the final state is seq 1, not the last input's 2
  });

  it('counts an output that does not carry its source as wrong content', () => {
    const h = new History();
    const heat = h.heat('ports/a', 1);
    const job = h.job('ports/a', heat, 7);
    h.state('ports/a', job, 7);

    const check = checkSoak(h.events, { group: GROUP });

    expect(check.wrongContent).toBe(1);
  });

  it('counts pipeline writes inside a fencing window as commits by a deposed leader', () => {
    const h = new History();
    h.flow('ports/a', 1);
    const from = h.heat('ports/a', 2);
    const job = h.job('ports/a', from, 2);
    const to = h.txn({ key: `${keyspace.root}election/leader/abc`, value: 'x' });
    h.state('ports/a', job, 2);

    const check = checkSoak(h.events, {
      group: GROUP,
      fenceWindows: [{ fromRevision: from, toRevision: to }],
    });

    // The job_state put and its marker; not the heat stack put (at `from`) nor the election key.
    expect(check.deposedCommits).toBe(2);
    expect(passed(check)).toBe(false);
  });

  it('counts dead-lettered records', () => {
    const h = new History();
    h.flow('ports/a', 1);
    h.txn({ key: keyspace.dlq('heat-stacks', '5', '0'), value: '{}' });

    expect(checkSoak(h.events, { group: GROUP }).deadLettered).toBe(1);
  });

  it('counts a state whose worker_state breaks the record rules as wrong content', () => {
    const h = new History();
    const heat = h.heat('ports/a', 1, 'CREATE_COMPLETE');
    const job = h.job('ports/a', heat, 1, 'CREATE_COMPLETE');
    // The rules give CREATE_COMPLETED for CREATE_COMPLETE; this state says MODIFY_COMPLETED.
    h.state('ports/a', job, 1, { status: 'UPDATE_COMPLETE' });

    const check = checkSoak(h.events, { group: GROUP });

    expect(check.wrongContent).toBe(1);
    expect(check.problems.join('\n')).toMatch(/expected seq 1 \/ CREATE_COMPLETED/);
  });

  it('counts an applied marker that moves backwards as wrong content', () => {
    const h = new History();
    const { heat } = h.flow('ports/a', 1);
    h.txn({ key: keyspace.applied('heat-stacks', heatKey('ports/a')), value: padRevision(String(heat - 1)) });

    const check = checkSoak(h.events, { group: GROUP });

    expect(check.wrongContent).toBe(1);
    expect(check.problems).toEqual([expect.stringMatching(/applied marker .* went from/)]);
  });

  it('counts a job_state deleted without its state as wrong content', () => {
    const h = new History();
    h.flow('ports/a', 1);
    h.txn({ key: jobKey('ports/a'), type: 'delete' });

    const check = checkSoak(h.events, { group: GROUP });

    expect(check.wrongContent).toBe(1);
    expect(check.problems).toEqual([expect.stringMatching(/deleted at \d+ without a state put/)]);
  });

  it('counts a key whose last job_state is left behind as unfinished', () => {
    const h = new History();
    const heat = h.heat('ports/a', 1);
    const job = h.job('ports/a', heat, 1);
    h.state('ports/a', job, 1);
    h.txn({ key: jobKey('ports/a'), value: '{}' });

    expect(checkSoak(h.events, { group: GROUP }).unfinished).toBe(1);
  });

  it('excuses only the revisions the caller says may be skipped', () => {
    const h = new History();
    const skipped = h.heat('ports/a', 1);
    h.flow('ports/a', 2);
    const lostToo = h.heat('ports/b', 3);
    h.flow('ports/b', 4);

    const check = checkSoak(h.events, { group: GROUP, mayBeSkipped: (revision) => revision === skipped });

    expect(check.lost).toBe(1);
    expect(check.problems).toEqual([expect.stringContaining(`ports/b@${lostToo}`)]);
  });

  it('gives the fault tests (checkPipeline) the same problems, in words', () => {
    const h = new History();
    h.flow('ports/a', 1);
    h.heat('ports/a', 2);

    const check = checkSoak(h.events, { group: GROUP });
    const report = checkPipeline(h.events, { group: GROUP });

    expect(report.problems).toEqual(check.problems);
    expect(report.problems).toHaveLength(2); // lost, and unfinished
    expect(report).toMatchObject({ heatPuts: 2, jobStatePuts: 1, statePuts: 1, refs: 1 });
  });
});

describe('checkSoak: deletes of outputs', () => {
  it('counts a state record deleted after it was written (the pipeline never deletes state)', () => {
    const h = new History();
    h.flow('ports/a', 1);
    h.txn({ key: stateKey('ports/a'), type: 'delete' });
    h.flow('ports/b', 2);

    const check = checkSoak(h.events, { group: GROUP });

    expect(check.wrongContent).toBe(1);
    expect(check.unfinished).toBe(1); // ports/a ends with no state at all
    expect(passed(check)).toBe(false);
  });

  it('counts a state deleted mid-run, even when a later input writes it again', () => {
    const h = new History();
    h.flow('ports/a', 1);
    h.txn({ key: stateKey('ports/a'), type: 'delete' });
    h.flow('ports/a', 2);

    expect(passed(checkSoak(h.events, { group: GROUP }))).toBe(false);
  });
});
