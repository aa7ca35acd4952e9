import { type Etcd3, GRPCOutOfRangeError, GRPCUnavailableError, type IRequestOp } from 'etcd3';
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

/** A member that has applied up to `applied`: a serializable read above it is refused as etcd does. */
function member(values: Record<string, string>, applied: number) {
  const txns: Array<{ keys: string[]; revision: string | undefined; serializable: boolean; refused?: true }> =
    [];
  const client = {
    kv: {
      txn: async ({ success }: { success: IRequestOp[] }) => {
        const keys = success.map((op) => String(op.request_range?.key));
        const range = success[0]?.request_range;
        const revision = range?.revision as string | undefined;
        const serializable = range?.serializable === true;
        if (serializable && revision !== undefined && Number(revision) > applied) {
          txns.push({ keys, revision, serializable, refused: true });
          throw new GRPCOutOfRangeError('etcdserver: mvcc: required revision is a future revision');
        }
        txns.push({ keys, revision, serializable });
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

  it('reads at a known committed revision on the member, without the quorum, where the member has applied it', async () => {
    // Prepare
    const { client, txns } = member({ '/a': 'A' }, 120);
    // Act
    const snapshot = await readSnapshot(client, ['/a', '/b', '/c'], 2, 100n);
    // Assess
    expect(txns).toEqual([
      { keys: ['/a', '/b'], revision: '100', serializable: true },
      { keys: ['/c'], revision: '100', serializable: true },
    ]);
    expect(snapshot.revision).toBe(100n);
    expect(snapshot.entries.get('/a')).toEqual({ value: Buffer.from('A'), modRevision: '5' });
  });

  it('reads through the leader when the member has not applied the revision yet', async () => {
    // Prepare
    const { client, txns } = member({ '/a': 'A' }, 90);
    // Act
    const snapshot = await readSnapshot(client, ['/a'], 2, 100n);
    // Assess
    expect(txns).toEqual([
      { keys: ['/a'], revision: '100', serializable: true, refused: true },
      { keys: ['/a'], revision: undefined, serializable: false },
    ]);
    expect(snapshot.revision).toBe(99n);
  });

  it('passes on any other failure of the local read', async () => {
    // Prepare
    const client = {
      kv: {
        txn: async () => {
          throw new GRPCUnavailableError('down');
        },
      },
    } as unknown as Etcd3;
    // Act / Assess
    await expect(readSnapshot(client, ['/a'], 2, 100n)).rejects.toBeInstanceOf(GRPCUnavailableError);
  });
});
