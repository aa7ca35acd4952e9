import type { Etcd3 } from 'etcd3';
import { BOOKKEEPING_ROOT } from '../keyspace.js';

/**
 * The store's current revision, from the header of a one-key read. The key read is the bridge's
 * own root, which a role limited to the pipeline's prefixes may read.
 */
export async function headRevision(client: Etcd3): Promise<bigint> {
  const res = await client.get(BOOKKEEPING_ROOT).exec();
  return BigInt(res.header.revision);
}
