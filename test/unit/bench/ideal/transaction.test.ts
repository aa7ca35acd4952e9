import { describe, expect, it } from 'vitest';
import {
  busyKey,
  commitTxn,
  type IdealRecord,
  takeTransaction,
} from '../../../../bench/ideal/transaction.js';
import { compare, mutationOp, op } from '../../../../bridge/etcd/ops.js';
import { padRevision } from '../../../../bridge/keyspace.js';

const heatStack = (n: number, revision = BigInt(100 + n)): IdealRecord => ({
  route: 'heat-stacks',
  key: `/esi-worker/heat_stacks/v2.0/ports/k${n}`,
  revision,
  markerKey: `/_etcd-bridge/g/applied/heat-stacks/esi-worker/heat_stacks/v2.0/ports/k${n}`,
  markerModRevision: '0',
  mutations: [{ op: 'put', key: `/esi-worker/job_state/v2.0/ports/k${n}`, value: '{}' }],
});

const jobState = (n: number, revision = BigInt(1000 + n)): IdealRecord => ({
  route: 'job-state',
  key: `/esi-worker/job_state/v2.0/ports/k${n}`,
  revision,
  markerKey: `/_etcd-bridge/g/applied/job-state/esi-worker/job_state/v2.0/ports/k${n}`,
  markerModRevision: '0',
  mutations: [
    { op: 'put', key: `/state/v2.0/ports/k${n}`, value: '{}' },
    { op: 'delete', key: `/esi-worker/job_state/v2.0/ports/k${n}`, ifModRevision: revision.toString() },
  ],
});

/** Operations and compares of a transaction as etcd counts them against --max-txn-ops. */
function size(records: readonly IdealRecord[]) {
  const txn = commitTxn(
    records,
    compare.createRevision('/leader', '5'),
    [...new Set(records.map((r) => r.route))].map((route) => ({ key: `/cp/${route}`, revision: 1n })),
  );
  const nested = txn.success.some((o) => o.request_txn) ? 1 : 0;
  return { compares: txn.compare.length, ops: txn.success.length, nested };
}

describe('takeTransaction', () => {
  it('fills a transaction up to the operation limit the committer keeps, with the nested delete margin', () => {
    const waiting = Array.from({ length: 100 }, (_, n) => jobState(n));
    const { taken, rest } = takeTransaction(waiting, new Set());
    // 1 checkpoint + 3 ops a record <= 128 - 1 (the nested delete's margin): 42 records.
    expect(taken).toHaveLength(42);
    expect(rest).toEqual(waiting.slice(42));
    const { compares, ops, nested } = size(taken);
    expect(Math.max(compares, ops) + nested).toBeLessThanOrEqual(128);

    const stacks = Array.from({ length: 100 }, (_, n) => heatStack(n));
    // No nested delete: 1 checkpoint + 2 ops a record <= 128: 63 records.
    expect(takeTransaction(stacks, new Set()).taken).toHaveLength(63);
  });

  it('mixes both routes, as the one committer does, about 44-50 records a full transaction', () => {
    const waiting = Array.from({ length: 200 }, (_, n) => (n % 2 === 0 ? heatStack(n) : jobState(n)));
    const { taken } = takeTransaction(waiting, new Set());
    expect(taken.length).toBeGreaterThanOrEqual(44);
    expect(taken.length).toBeLessThanOrEqual(51);
    const { compares, ops, nested } = size(taken);
    expect(ops).toBeLessThanOrEqual(128 - nested);
    expect(compares).toBeLessThanOrEqual(128 - nested);
  });

  it('honours a smaller --max-txn-ops', () => {
    const { taken } = takeTransaction(
      Array.from({ length: 10 }, (_, n) => heatStack(n)),
      new Set(),
      9,
    );
    expect(taken).toHaveLength(4); // 1 checkpoint + 4 × 2 = 9
  });

  it('leaves a busy key and every later record of it behind, in order', () => {
    const waiting = [heatStack(1, 10n), heatStack(2, 11n), heatStack(1, 12n), heatStack(3, 13n)];
    const { taken, rest } = takeTransaction(waiting, new Set([busyKey(waiting[0]!)]));
    expect(taken.map((r) => r.revision)).toEqual([11n, 13n]);
    expect(rest.map((r) => r.revision)).toEqual([10n, 12n]);
  });

  it('never writes one key twice in a transaction: a second revision of a key, or a job_state put and its delete', () => {
    const waiting = [
      heatStack(1, 10n),
      heatStack(1, 20n),
      jobState(1, 15n),
      heatStack(2, 21n),
      jobState(1, 30n),
    ];
    const { taken, rest } = takeTransaction(waiting, new Set());
    expect(taken.map((r) => r.revision)).toEqual([10n, 21n]);
    // The job_state record of k1 stays, and so does k1's next job_state record after it.
    expect(rest.map((r) => r.revision)).toEqual([20n, 15n, 30n]);
  });

  it('takes nothing when every waiting key is busy', () => {
    const waiting = [heatStack(1), jobState(2)];
    const { taken, rest } = takeTransaction(waiting, new Set(waiting.map(busyKey)));
    expect(taken).toEqual([]);
    expect(rest).toEqual(waiting);
  });
});

describe('commitTxn', () => {
  it("is the committer's transaction: fence and marker compares; marker put, outputs; checkpoints last", () => {
    const records = [heatStack(1, 10n), jobState(2, 11n)];
    records[1]!.markerModRevision = '7';
    const fence = compare.createRevision('/_etcd-bridge/g/election/leader/x', '5');
    const txn = commitTxn(records, fence, [{ key: '/_etcd-bridge/g/checkpoint/heat-stacks', revision: 10n }]);
    expect(txn).toEqual({
      compare: [
        fence,
        compare.modRevision(records[0]!.markerKey, '0'),
        compare.modRevision(records[1]!.markerKey, '7'),
      ],
      success: [
        op.put(records[0]!.markerKey, padRevision(10n)),
        mutationOp(records[0]!.mutations[0]!),
        op.put(records[1]!.markerKey, padRevision(11n)),
        mutationOp(records[1]!.mutations[0]!),
        op.deleteIfAt('/esi-worker/job_state/v2.0/ports/k2', '11'),
        op.put('/_etcd-bridge/g/checkpoint/heat-stacks', padRevision(10n)),
      ],
      failure: [],
    });
  });
});
