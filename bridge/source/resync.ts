/**
 * Resync (DESIGN invariant 5): when the route's revision has been compacted away, or a new route
 * starts at `resync`, read the whole prefix at one revision and deliver every key as a put. The
 * route's watch then goes on from that revision + 1.
 *
 * Pages are read at the first page's revision, one at a time, and only when the route has room
 * (bounded memory). A page etcd does not answer is read again after the read backoff; if etcd has
 * compacted that revision meanwhile, the read starts over at the new head (keys delivered twice
 * are harmless: their applied markers make the second delivery a no-op).
 */
import type { Etcd3, IKeyValue } from 'etcd3';
import { prefixRangeEnd } from '../etcd/ops.js';
import { BACKOFF, Backoff, sleep } from '../failure/backoff.js';
import { type Classification, classify } from '../failure/classify.js';

const PAGE_SIZE = 500;

export interface ResyncOptions {
  readonly client: Etcd3;
  readonly prefix: string;
  /** Resolves when the route has room for another page. */
  waitForRoom(): Promise<void>;
  deliver(kv: IKeyValue): void;
  /** A page failed and will be read again after `delayMs`. */
  onRetry?(error: unknown, classification: Classification, delayMs: number): void;
  /** Aborted when the route stops: the read ends without a revision. */
  readonly signal: AbortSignal;
  readonly pageSize?: number;
}

/** Read the prefix; resolves with the revision it was read at, or undefined if stopped first. */
export async function readPrefix(options: ResyncOptions): Promise<bigint | undefined> {
  const { client, prefix, signal } = options;
  const end = prefixRangeEnd(prefix);
  const backoff = new Backoff(BACKOFF.read);
  let revision: string | undefined;
  let from = Buffer.from(prefix, 'utf8');
  for (;;) {
    await options.waitForRoom();
    if (signal.aborted) return undefined;
    let page: Awaited<ReturnType<typeof client.kv.range>>;
    try {
      page = await client.kv.range({
        key: from,
        range_end: end,
        limit: String(options.pageSize ?? PAGE_SIZE),
        ...(revision ? { revision } : {}),
      });
    } catch (error) {
      const classification = classify(error);
      if (classification.verdict === 'fatal') throw error;
      if (classification.reason === 'etcd-compacted') {
        revision = undefined;
        from = Buffer.from(prefix, 'utf8');
      }
      const delayMs = backoff.next();
      options.onRetry?.(error, classification, delayMs);
      await sleep(delayMs, signal);
      continue;
    }
    backoff.reset();
    revision ??= page.header.revision;
    for (const kv of page.kvs) options.deliver(kv);
    const last = page.kvs.at(-1);
    if (!page.more || !last) return BigInt(revision);
    from = Buffer.concat([last.key, Buffer.from([0])]);
  }
}
