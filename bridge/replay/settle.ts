/**
 * "The pipeline has settled": every write etcd holds up to its current revision has been seen by
 * the route that watches its key and handled there (committed, skipped or dead-lettered), nothing
 * is held or committing, and no new write appeared meanwhile. Exact, not a quiet-period guess.
 */
import type { Etcd3 } from 'etcd3';
import { headRevision } from '../etcd/head.js';
import type { StatusSource } from '../status/source.js';
import type { KeyspaceRecorder } from './recorder.js';

export async function waitUntilSettled(
  bridge: StatusSource & { readonly client: Etcd3 },
  recorder: KeyspaceRecorder,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const head = await headRevision(bridge.client);
    await recorder.waitFor(head, Math.max(1, deadline - Date.now()));
    const lastWrite = new Map<string, bigint>();
    for (const route of bridge.status()) {
      let last = 0n;
      for (const write of recorder.writes) {
        if (write.revision > last && write.key.startsWith(route.prefix)) last = write.revision;
      }
      lastWrite.set(route.route, last);
    }
    for (;;) {
      if (bridge.fatal) throw bridge.fatal;
      const behind = bridge
        .status()
        .find((r) => !(BigInt(r.handledThrough) >= lastWrite.get(r.route)! && r.idle));
      // Every route through its last write and idle, and no commit pending anywhere.
      if (!behind && bridge.isIdle()) break;
      if (Date.now() > deadline) {
        const what = behind
          ? `route ${behind.route} (handled through ${behind.handledThrough}, last write ${lastWrite.get(behind.route)})`
          : 'the committer';
        throw new Error(`${what} did not settle within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    if ((await headRevision(bridge.client)) === head) return;
  }
}
