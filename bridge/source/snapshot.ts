/**
 * Reads from one consistent etcd snapshot: the first chunk fixes the revision, later chunks read
 * at that revision. (etcd caps a transaction at --max-txn-ops operations, 128 by default, so a
 * large read takes chunks.)
 *
 * With `atLeast` (a revision the caller knows is committed), the first chunk is a serializable
 * read at that revision, served by the member without a quorum round trip: the snapshot at a
 * committed revision R is the same on every member, so a member that has applied R answers it
 * exactly as the leader would. A member that has not applied R yet refuses ("required revision is
 * a future revision"), as it does a revision compacted away: then the read is linearizable, as
 * without `atLeast`.
 */
import { type Etcd3, GRPCOutOfRangeError, type IRequestOp } from 'etcd3';
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
  atLeast?: bigint,
): Promise<Snapshot> {
  const unique = [...new Set(keys)];
  const entries = new Map<string, SnapshotEntry | null>();
  const chunks: string[][] = [];
  for (let i = 0; i < unique.length; i += maxOps) chunks.push(unique.slice(i, i + maxOps));
  if (chunks.length === 0) chunks.push([]);

  const readChunk = async (chunk: string[], revision?: string, serializable = false) => {
    const success: IRequestOp[] = chunk.map((key) => ({
      request_range: {
        key: Buffer.from(key, 'utf8'),
        ...(revision ? { revision } : {}),
        ...(serializable ? { serializable: true } : {}),
      },
    }));
    const result = await client.kv.txn({ compare: [], success, failure: [] });
    chunk.forEach((key, i) => {
      const kv = result.responses[i]?.response_range.kvs[0];
      entries.set(key, kv ? { value: kv.value, modRevision: kv.mod_revision } : null);
    });
    return revision ?? result.header.revision;
  };

  /** A serializable read at `at`; undefined where this member cannot serve it. */
  const readLocally = async (chunk: string[], at: string) => {
    try {
      return await readChunk(chunk, at, true);
    } catch (error) {
      if (error instanceof GRPCOutOfRangeError) return undefined; // not applied here yet, or compacted
      throw error;
    }
  };

  let revision: string | undefined;
  let local = false;
  if (atLeast !== undefined && atLeast > 0n) {
    revision = await readLocally(chunks[0]!, atLeast.toString());
    local = revision !== undefined;
  }
  revision ??= await readChunk(chunks[0]!);
  const at = revision;
  // Later chunks at the same revision (locally if the first chunk was, else through the leader).
  await Promise.all(
    chunks.slice(1).map(async (chunk) => (local && (await readLocally(chunk, at))) || readChunk(chunk, at)),
  );
  return { revision: BigInt(revision), entries };
}
