/**
 * The ideal client's group commit: which waiting records share a transaction, and the transaction
 * itself, made with the bridge's own builders (etcd/ops.ts, keyspace.ts) in the committer's layout
 * (commit/committer.ts): the leader fence and one marker compare a record; a record's marker put
 * then its outputs; each route's checkpoint last.
 */
import type { ICompare, IRequestOp } from 'etcd3';
import { compare, MAX_TXN_OPS, mutationOp, op } from '../../bridge/etcd/ops.js';
import { padRevision } from '../../bridge/keyspace.js';
import type { Mutation } from '../../shared/index.js';

export interface IdealRecord {
  readonly route: string;
  readonly key: string;
  readonly revision: bigint;
  /** The route's applied marker for this key (keyspace.applied). */
  readonly markerKey: string;
  /** The marker's mod revision as the batch's snapshot read it; "0" when it did not exist. */
  markerModRevision: string;
  readonly mutations: readonly Mutation[];
}

/** A conditional delete is a nested transaction; etcd counts it against what the outer one leaves. */
const nestedOps = (record: IdealRecord) =>
  record.mutations.some((m) => m.op === 'delete' && m.ifModRevision !== undefined) ? 1 : 0;

const keysWritten = (record: IdealRecord) => [record.markerKey, ...record.mutations.map((m) => m.key)];

/**
 * Takes from `waiting`, in order, the records one transaction can carry — within etcd's operation
 * limit as the committer counts it (compares and operations each, a checkpoint a route, the nested
 * delete's margin), no key written twice, no record of a key that `busy` holds (it is in another
 * transaction) or whose earlier record stays behind. `rest` is what is left, in order.
 */
export function takeTransaction(
  waiting: readonly IdealRecord[],
  busy: ReadonlySet<string>,
  maxOps: number = MAX_TXN_OPS,
): { taken: IdealRecord[]; rest: IdealRecord[] } {
  const taken: IdealRecord[] = [];
  const left: IdealRecord[] = [];
  const written = new Set<string>();
  const routes = new Set<string>();
  const heldBack = new Set<string>();
  let compares = 1; // the fence
  let ops = 0;
  let nested = 0;
  let i = 0;
  for (; i < waiting.length; i++) {
    const record = waiting[i]!;
    const sourceKey = busyKey(record);
    const keys = keysWritten(record);
    if (busy.has(sourceKey) || heldBack.has(sourceKey) || keys.some((k) => written.has(k))) {
      // Its key's order: every later record of this key stays behind it.
      heldBack.add(sourceKey);
      left.push(record);
      continue;
    }
    const needed = keys.length + (routes.has(record.route) ? 0 : 1);
    const limit = maxOps - Math.max(nested, nestedOps(record));
    if (taken.length > 0 && (compares + 1 > limit || ops + needed > limit)) break;
    for (const k of keys) written.add(k);
    nested = Math.max(nested, nestedOps(record));
    routes.add(record.route);
    compares++;
    ops += needed;
    taken.push(record);
  }
  return { taken, rest: i < waiting.length ? left.concat(waiting.slice(i)) : left };
}

/** What marks a record's source key as taken: one route's key is in one transaction at a time. */
export function busyKey(record: Pick<IdealRecord, 'route' | 'key'>): string {
  return `${record.route}\u0000${record.key}`;
}

export interface Checkpoint {
  readonly key: string;
  readonly revision: bigint;
}

/** The transaction for `records`, as the committer builds one. */
export function commitTxn(
  records: readonly IdealRecord[],
  fence: ICompare,
  checkpoints: readonly Checkpoint[],
): { compare: ICompare[]; success: IRequestOp[]; failure: IRequestOp[] } {
  const compares: ICompare[] = [fence];
  const success: IRequestOp[] = [];
  for (const record of records) {
    compares.push(compare.modRevision(record.markerKey, record.markerModRevision));
    success.push(op.put(record.markerKey, padRevision(record.revision)));
    for (const mutation of record.mutations) success.push(mutationOp(mutation));
  }
  for (const checkpoint of checkpoints)
    success.push(op.put(checkpoint.key, padRevision(checkpoint.revision)));
  return { compare: compares, success, failure: [] };
}
