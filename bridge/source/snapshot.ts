/**
 * Reads from one consistent etcd snapshot: the first chunk fixes the revision, later chunks read
 * at that revision. (etcd caps a transaction at --max-txn-ops operations, 128 by default, so a
 * large read takes chunks.)
 */
import type { Etcd3, IRequestOp } from 'etcd3';
import { MAX_TXN_OPS } from '../etcd/ops.js';

export interface SnapshotEntry {
  readonly value: Buffer;
  readonly modRevision: string;
}

export interface Snapshot {
  readonly revision: bigint;
  readonly entries: ReadonlyMap<string, SnapshotEntry | null>;
}

export async function readSnapshot(
  client: Etcd3,
  keys: readonly string[],
  maxOps: number = MAX_TXN_OPS,
): Promise<Snapshot> {
  const unique = [...new Set(keys)];
  const entries = new Map<string, SnapshotEntry | null>();
  const chunks: string[][] = [];
  for (let i = 0; i < unique.length; i += maxOps) chunks.push(unique.slice(i, i + maxOps));
  if (chunks.length === 0) chunks.push([]);

  const readChunk = async (chunk: string[], revision?: string) => {
    const success: IRequestOp[] = chunk.map((key) => ({
      request_range: { key: Buffer.from(key, 'utf8'), ...(revision ? { revision } : {}) },
    }));
    const result = await client.kv.txn({ compare: [], success, failure: [] });
    chunk.forEach((key, i) => {
      const kv = result.responses[i]?.response_range.kvs[0];
      entries.set(key, kv ? { value: kv.value, modRevision: kv.mod_revision } : null);
    });
    return result.header.revision;
  };

  const revision = await readChunk(chunks[0]!);
  await Promise.all(chunks.slice(1).map((chunk) => readChunk(chunk, revision)));
  return { revision: BigInt(revision), entries };
}
