/**
 * Builders for etcd's raw transaction messages (etcd3's `client.kv.txn`). The bridge uses the raw
 * API because one transaction carries compares, puts, reads and nested conditional deletes.
 */
import type { ICompare, IRequestOp } from 'etcd3';
import type { Mutation } from '../../shared/index.js';

const buf = (text: string) => Buffer.from(text, 'utf8');

/**
 * etcd's default `--max-txn-ops`: the most operations (and compares) one transaction may carry.
 * Code that fills transactions takes the limit as a parameter defaulting to this, so a cluster run
 * with another `--max-txn-ops` needs only a configuration value.
 */
export const MAX_TXN_OPS = 128;

/** The key range for every key that starts with `prefix`. */
export function prefixRangeEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix, 'utf8');
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

export const op = {
  put: (key: string, value: string): IRequestOp => ({ request_put: { key: buf(key), value: buf(value) } }),
  get: (key: string): IRequestOp => ({ request_range: { key: buf(key) } }),
  delete: (key: string): IRequestOp => ({ request_delete_range: { key: buf(key) } }),
  /** Delete `key` only if it is still at `modRevision`; otherwise do nothing (a nested txn). */
  deleteIfAt: (key: string, modRevision: string): IRequestOp => ({
    request_txn: {
      compare: [compare.modRevision(key, modRevision)],
      success: [{ request_delete_range: { key: buf(key) } }],
      failure: [],
    },
  }),
};

export const compare = {
  /** `mod_revision(key) == revision`; revision "0" means the key does not exist. */
  modRevision: (key: string, revision: string): ICompare => ({
    key: buf(key),
    target: 'Mod',
    result: 'Equal',
    mod_revision: revision,
  }),
  /** `mod_revision(key) < revision`; a key that does not exist has mod revision 0. */
  modRevisionBelow: (key: string, revision: string): ICompare => ({
    key: buf(key),
    target: 'Mod',
    result: 'Less',
    mod_revision: revision,
  }),
  createRevision: (key: string, revision: string): ICompare => ({
    key: buf(key),
    target: 'Create',
    result: 'Equal',
    create_revision: revision,
  }),
};

/** A stage function's mutation as the transaction op that applies it. */
export function mutationOp(mutation: Mutation): IRequestOp {
  if (mutation.op === 'put') return op.put(mutation.key, mutation.value);
  return mutation.ifModRevision === undefined
    ? op.delete(mutation.key)
    : op.deleteIfAt(mutation.key, mutation.ifModRevision);
}
