import { type Etcd3, GRPCOutOfRangeError, GRPCUnavailableError } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { readPrefix } from '../../../../bridge/source/resync.js';

interface RangeCall {
  key: string;
  revision: string | undefined;
}

/** A kv.range over `keys` (sorted), pages of `limit`; `failures` are thrown first, in turn. */
function fakeClient(keys: string[], failures: Error[] = [], head = '50') {
  const calls: RangeCall[] = [];
  const client = {
    kv: {
      range: async (request: { key: Buffer; limit: string; revision?: string }) => {
        calls.push({ key: request.key.toString(), revision: request.revision });
        const failure = failures.shift();
        if (failure) throw failure;
        const from = keys.filter((k) => k >= request.key.toString());
        const page = from.slice(0, Number(request.limit));
        return {
          header: { revision: head },
          more: from.length > page.length,
          kvs: page.map((k) => ({ key: Buffer.from(k), value: Buffer.from(`v${k}`), mod_revision: '7' })),
        };
      },
    },
  } as unknown as Etcd3;
  return { client, calls };
}

const options = (client: Etcd3, delivered: string[], signal = new AbortController().signal) => ({
  client,
  prefix: '/p/',
  pageSize: 2,
  signal,
  waitForRoom: async () => {},
  deliver: (kv: { key: Buffer }) => delivered.push(kv.key.toString()),
});

describe('readPrefix', () => {
  it('delivers every key, page by page at the first page’s revision, and resolves with it', async () => {
    const { client, calls } = fakeClient(['/p/a', '/p/b', '/p/c']);
    const delivered: string[] = [];
    expect(await readPrefix(options(client, delivered))).toBe(50n);
    expect(delivered).toEqual(['/p/a', '/p/b', '/p/c']);
    expect(calls.map((c) => c.revision)).toEqual([undefined, '50']);
    expect(calls[1]?.key).toBe('/p/b\u0000');
  });

  it('reads a page again after a transient failure, and starts over when its revision was compacted', async () => {
    const { client, calls } = fakeClient(['/p/a', '/p/b', '/p/c'], []);
    const delivered: string[] = [];
    const failures = [new GRPCUnavailableError('14 UNAVAILABLE'), new GRPCOutOfRangeError('compacted')];
    const original = client.kv.range.bind(client.kv);
    let call = 0;
    (client.kv as { range: unknown }).range = async (request: Parameters<typeof original>[0]) => {
      // the second page fails twice: unavailable, then compacted
      if (++call >= 2 && failures.length > 0) {
        calls.push({ key: String(request.key), revision: request.revision as string | undefined });
        throw failures.shift();
      }
      return original(request);
    };
    const retries: string[] = [];
    expect(
      await readPrefix({
        ...options(client, delivered),
        onRetry: (_e, classification) => retries.push(classification.reason),
      }),
    ).toBe(50n);
    expect(retries).toEqual(['etcd-unavailable', 'etcd-compacted']);
    // after the compaction it read from the start again (a key delivered twice is harmless)
    expect(delivered).toEqual(['/p/a', '/p/b', '/p/a', '/p/b', '/p/c']);
  });

  it('ends without a revision when the route stops', async () => {
    const { client } = fakeClient(['/p/a']);
    const controller = new AbortController();
    controller.abort();
    expect(await readPrefix(options(client, [], controller.signal))).toBeUndefined();
  });
});
