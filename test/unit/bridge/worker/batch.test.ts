import { GRPCUnavailableError } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { InvokeError } from '../../../../bridge/errors.js';
import type { Snapshot, SnapshotEntry } from '../../../../bridge/source/snapshot.js';
import { type BatchDeps, runBatch } from '../../../../bridge/worker/batch.js';
import { newItem, type WorkItem } from '../../../../bridge/worker/item.js';
import type { StageRequest, StageResponse } from '../../../../shared/index.js';

const item = (key: string, revision: bigint, value: string | Buffer | null = '{}'): WorkItem =>
  newItem({
    key,
    type: 'put',
    value: typeof value === 'string' ? Buffer.from(value) : value,
    revision,
    fromResync: false,
  });
const entry = (value: string, modRevision = '7'): SnapshotEntry => ({
  value: Buffer.from(value),
  modRevision,
});

function deps(
  entries: Record<string, SnapshotEntry>,
  answer: (request: StageRequest) => StageResponse | Promise<StageResponse>,
): BatchDeps & { requests: StageRequest[] } {
  const requests: StageRequest[] = [];
  return {
    requests,
    route: 'r',
    functionName: 'f',
    readSnapshot: async (keys): Promise<Snapshot> => ({
      revision: 10n,
      entries: new Map(keys.map((k) => [k, entries[k] ?? null])),
    }),
    invoke: async (_fn, request) => {
      requests.push(request);
      return answer(request);
    },
    markerKey: (i) => `/applied${i.key}`,
    readKeys: (i) => [`/config${i.key}`],
  };
}

describe('runBatch', () => {
  it('sets aside records applied already and sends the rest with their reads, in one invocation', async () => {
    // Prepare
    const done = item('/a', 5n);
    const fresh = item('/b', 6n, '{"x": 1}');
    const d = deps(
      { '/applied/a': entry('5'), '/applied/b': entry('3', '42'), '/config/b': entry('cfg') },
      (r) => ({
        results: r.records.map((rec) => ({ id: rec.id, mutations: [] })),
        batchItemFailures: [],
      }),
    );
    // Act
    const results = await runBatch([done, fresh], d);
    // Assess
    expect(results).toEqual([
      { item: done, result: { kind: 'applied-already' } },
      { item: fresh, result: { kind: 'answered', mutations: [] } },
    ]);
    expect(d.requests).toEqual([
      {
        route: 'r',
        records: [
          {
            id: '0',
            type: 'put',
            key: '/b',
            value: '{"x": 1}',
            modRevision: '6',
            reads: { '/config/b': 'cfg' },
          },
        ],
      },
    ]);
    expect(fresh.markerModRevision).toBe('42');
  });

  it('fails a value that is not UTF-8 without invoking, and the function’s failed records by their answer', async () => {
    const bad = item('/bad', 5n, Buffer.from([0xff, 0xfe]));
    const refused = item('/refused', 6n);
    const d = deps({}, (r) => ({
      results: [],
      batchItemFailures: r.records.map((rec) => ({
        itemIdentifier: rec.id,
        retryable: false,
        error: 'nope',
        errorType: 'X',
      })),
    }));
    const results = await runBatch([bad, refused], d);
    expect(results).toMatchObject([
      {
        item: bad,
        result: {
          kind: 'failed',
          step: 'record',
          failure: { verdict: 'terminal', errorType: 'RecordValidationError' },
        },
      },
      {
        item: refused,
        result: { kind: 'failed', step: 'record', failure: { reason: 'bad-record', errorType: 'X' } },
      },
    ]);
    expect(d.requests[0]?.records.map((r) => r.key)).toEqual(['/refused']);
  });

  it('reads nothing for a route that reads nothing, unless a record may be applied already', async () => {
    // Prepare: no reads; a read would say /a is applied.
    let reads = 0;
    const fresh = item('/a', 5n);
    const d = {
      ...deps({ '/applied/a': entry('5') }, (r) => ({
        results: r.records.map((rec) => ({ id: rec.id, mutations: [] })),
        batchItemFailures: [],
      })),
      readKeys: () => [],
      mayBeApplied: (i: WorkItem) => i.fromResync,
    };
    const read = d.readSnapshot;
    d.readSnapshot = async (keys) => {
      reads++;
      return read(keys);
    };

    // Act + Assess: a record that cannot be applied yet is invoked without a read; its marker stays
    // unknown (the commit compares mod_revision < its revision).
    expect(await runBatch([fresh], d)).toEqual([
      { item: fresh, result: { kind: 'answered', mutations: [] } },
    ]);
    expect(reads).toBe(0);
    expect(fresh.markerModRevision).toBeUndefined();
    expect(d.requests[0]?.records[0]?.reads).toEqual({});

    // A resync's record may be applied: the batch reads its marker and sets it aside.
    const resynced = { ...item('/a', 5n), fromResync: true };
    expect(await runBatch([resynced], d)).toEqual([{ item: resynced, result: { kind: 'applied-already' } }]);
    expect(reads).toBe(1);
    expect(resynced.markerModRevision).toBe('7');
  });

  it("gives every record the snapshot read's failure, and the invocation's", async () => {
    const a = item('/a', 5n);
    const unreadable = { ...deps({}, () => ({ results: [], batchItemFailures: [] })) };
    unreadable.readSnapshot = async () => {
      throw new GRPCUnavailableError('14 UNAVAILABLE');
    };
    expect(await runBatch([a], unreadable)).toMatchObject([
      { result: { kind: 'failed', step: 'read', failure: { reason: 'etcd-unavailable' } } },
    ]);
    const throwing = deps({}, () => {
      throw new InvokeError('f: throttled', 'TooManyRequestsException');
    });
    expect(await runBatch([a, item('/b', 6n)], throwing)).toMatchObject([
      { result: { kind: 'failed', step: 'invoke', failure: { errorType: 'TooManyRequestsException' } } },
      { result: { kind: 'failed', step: 'invoke' } },
    ]);
  });
});
