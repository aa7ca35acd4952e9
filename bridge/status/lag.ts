/**
 * A route's lag in revisions: changes under the route's own prefix that it has not processed.
 *
 * Not `head − checkpoint`: the etcd head moves with every write anywhere in the store — the other
 * route's prefix, other applications, the bridge's own checkpoints and published status — so an
 * idle route would look further behind every second. Here an idle route is 0.
 *
 * etcd keeps no per-prefix revision count, so the figure is read as: the keys under the prefix
 * whose last change is after the revision the route has handled through, or the records the route
 * holds, whichever is more (several revisions of one key, or a deleted key, count once or not at
 * all among the keys; each is a held record). It is counted up to LAG_COUNT_LIMIT so that a big
 * backlog costs one bounded read: beyond it the figure stays at the limit.
 */
import type { Etcd3 } from 'etcd3';
import { LAG_COUNT_LIMIT } from '../../shared/names.js';
import { prefixRangeEnd } from '../etcd/ops.js';

export { LAG_COUNT_LIMIT };

/** Keys under `prefix` last changed after revision `after`, at most `limit`. */
export async function keysChangedAfter(
  client: Etcd3,
  prefix: string,
  after: bigint,
  limit = LAG_COUNT_LIMIT,
): Promise<number> {
  // count_only would count the whole range: etcd applies min_mod_revision to the keys it returns,
  // not to the count. keys_only with a limit returns at most `limit` keys and no values.
  const res = await client.kv.range({
    key: Buffer.from(prefix, 'utf8'),
    range_end: prefixRangeEnd(prefix),
    min_mod_revision: (after + 1n).toString(),
    keys_only: true,
    limit,
  });
  return res.kvs.length;
}

/** The lag of a route that has handled through `handledThrough` and holds `held` records. */
export async function lagRevisions(
  client: Etcd3,
  route: { readonly prefix: string; readonly handledThrough: bigint; readonly held: number },
): Promise<bigint> {
  const changed = await keysChangedAfter(client, route.prefix, route.handledThrough);
  return BigInt(Math.min(LAG_COUNT_LIMIT, Math.max(changed, route.held)));
}
