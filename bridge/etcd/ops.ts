/**
 * Builders for etcd's raw transaction messages (etcd3's `client.kv.txn`). The bridge uses the raw
 * API because one transaction carries compares, puts, reads and nested conditional deletes.
 */
import type { ICompare, IRequestOp } from 'etcd3';

const buf = (text: string) => Buffer.from(text, 'utf8');

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
  createRevision: (key: string, revision: string): ICompare => ({
    key: buf(key),
    target: 'Create',
    result: 'Equal',
    create_revision: revision,
  }),
};
