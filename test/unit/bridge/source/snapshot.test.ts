import type { Etcd3, IRequestOp } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { readSnapshot } from '../../../../bridge/source/snapshot.js';

/** A kv.txn that answers each range with the key's value, and records the transactions it got. */
function fakeClient(values: Record<string, string>) {
  const txns: Array<{ keys: string[]; revision: string | undefined }> = [];
  const client = {
    kv: {
      txn: async ({ success }: { success: IRequestOp[] }) => {
        const keys = success.map((op) => String(op.request_range?.key));
        txns.push({ keys, revision: success[0]?.request_range?.revision as string | undefined });
        return {
          header: { revision: '99' },
          responses: keys.map((key) => ({
            response_range: {
              kvs: key in values ? [{ value: Buffer.from(values[key]!), mod_revision: '5' }] : [],
            },
          })),
        };
      },
    },
  } as unknown as Etcd3;
  return { client, txns };
}

describe('readSnapshot', () => {
  it('reads every key once, in chunks of at most maxOps, the later chunks at the first one’s revision', async () => {
    // Prepare
    const { client, txns } = fakeClient({ '/a': 'A', '/c': 'C' });
    // Act
    const snapshot = await readSnapshot(client, ['/a', '/b', '/a', '/c', '/d', '/e'], 2);
    // Assess
    expect(txns.map((t) => t.keys)).toEqual([['/a', '/b'], ['/c', '/d'], ['/e']]);
    expect(txns.map((t) => t.revision)).toEqual([undefined, '99', '99']);
    expect(snapshot.revision).toBe(99n);
    expect(snapshot.entries.get('/a')).toEqual({ value: Buffer.from('A'), modRevision: '5' });
    expect(snapshot.entries.get('/b')).toBeNull();
  });

  it('still reads the revision when there are no keys', async () => {
    const { client, txns } = fakeClient({});
    expect((await readSnapshot(client, [])).revision).toBe(99n);
    expect(txns).toHaveLength(1);
  });
});
