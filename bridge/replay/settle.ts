/**
 * "The pipeline has settled": every write etcd holds up to its current revision has been seen by
 * the route that watches its key and handled there (committed, skipped or dead-lettered), nothing
 * is held or committing, and no new write appeared meanwhile. Exact, not a quiet-period guess.
 */
import type { Bridge } from '../bridge.js';
import { headRevision } from '../etcd/head.js';
import type { KeyspaceRecorder } from './recorder.js';

export async function waitUntilSettled(
  bridge: Bridge,
  recorder: KeyspaceRecorder,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const head = await headRevision(bridge.client);
    await recorder.waitFor(head, Math.max(1, deadline - Date.now()));
    for (const route of bridge.routes) {
      let last = 0n;
      for (const write of recorder.writes) {
        if (write.revision > last && write.key.startsWith(route.prefix)) last = write.revision;
      }
      while (!(route.handledThrough >= last && route.isIdle())) {
        if (bridge.fatal) throw bridge.fatal;
        if (Date.now() > deadline) {
          throw new Error(
            `route ${route.route.name} did not settle within ${timeoutMs} ms (handled through ${route.handledThrough}, last write ${last})`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    await bridge.committer.idle();
    if ((await headRevision(bridge.client)) === head) return;
  }
}
