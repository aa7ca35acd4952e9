import type { Etcd3, ICompare, IRequestOp } from 'etcd3';
import { GRPCUnavailableError } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { type CommitRequest, Committer } from '../../../../bridge/commit/committer.js';
import type { Leadership } from '../../../../bridge/leader.js';

/** A tiny etcd: puts, gets and Mod/Create compares, one revision per transaction that writes. */
function memoryEtcd() {
  const kvs = new Map<string, { value: Buffer; mod_revision: string; create_revision: string }>();
  let revision = 1;
  kvs.set('/leader', { value: Buffer.from('me'), mod_revision: '1', create_revision: '1' });
  const holds = (c: ICompare) => {
    const kv = kvs.get(String(c.key));
    const actual = BigInt(c.target === 'Create' ? (kv?.create_revision ?? '0') : (kv?.mod_revision ?? '0'));
    const wanted = BigInt((c.target === 'Create' ? c.create_revision : c.mod_revision) ?? '0');
    return c.result === 'Less' ? actual < wanted : actual === wanted;
  };
  const puts: string[] = [];
  const apply = (compare: ICompare[], success: IRequestOp[]) => {
    const succeeded = compare.every(holds);
    if (!succeeded) return { succeeded, responses: [], header: { revision: String(revision) } };
    if (success.some((o) => o.request_put)) revision++;
    const responses = success.map((o) => {
      if (o.request_put) {
        const key = String(o.request_put.key);
        puts.push(key);
        const before = kvs.get(key);
        kvs.set(key, {
          value: Buffer.from(o.request_put.value!),
          mod_revision: String(revision),
          create_revision: before?.create_revision ?? String(revision),
        });
        return { response_put: {} };
      }
      const kv = kvs.get(String(o.request_range!.key));
      return { response_range: { kvs: kv ? [{ ...kv, key: o.request_range!.key }] : [] } };
    });
    return { succeeded, responses, header: { revision: String(revision) } };
  };
  return { kvs, puts, apply };
}

const leadership = {
  lost: undefined,
  campaignKey: '/leader',
  createRevision: '1',
  fence: () => ({ key: Buffer.from('/leader'), target: 'Create', result: 'Equal', create_revision: '1' }),
  fenceFailed: () => {},
} as unknown as Leadership;

describe('Committer: a commit whose answer was lost, then etcd goes away', () => {
  it('does not commit the record a second time when reading the checkpoints fails', async () => {
    const etcd = memoryEtcd();
    let commits = 0;
    let checkpointReads = 0;
    const client = {
      kv: {
        txn: async ({ compare, success }: { compare: ICompare[]; success: IRequestOp[] }) => {
          const writes = success.some((o) => o.request_put);
          if (writes && commits++ === 0) {
            // Applied, the answer lost; etcd3 sends it again by itself, and the retry meets its markers.
            etcd.apply(compare, success);
            return etcd.apply(compare, success);
          }
          const readsCheckpoints = success.every((o) =>
            String(o.request_range?.key).startsWith('/checkpoint/'),
          );
          if (!writes && readsCheckpoints && checkpointReads++ === 0)
            throw new GRPCUnavailableError('14 UNAVAILABLE: connection refused');
          return etcd.apply(compare, success);
        },
      },
    } as unknown as Etcd3;
    const c = new Committer(
      client,
      leadership,
      (route) => `/checkpoint/${route}`,
      () => 5n,
      {
        random: () => 0,
      },
    );
    // A record of a route that reads nothing (stage heat-stacks): its batch did not read its marker.
    const request: CommitRequest = {
      route: 'r',
      sourceKey: '/a',
      revision: 1n,
      markerKey: '/applied/a',
      markerModRevision: undefined,
      mutations: [{ op: 'put', key: '/out/a', value: 'v' }],
      item: {},
    };
    expect(await c.submit(request)).toBe('already-applied');
    expect(etcd.puts.filter((key) => key === '/out/a')).toHaveLength(1); // its output, once
  });
});
