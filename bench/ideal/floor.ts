/**
 * The floor client: the least etcd work any design of this pipeline can do for an event — the two
 * output records written one after the other, each as soon as its input is seen. It watches the
 * heat_stacks and job_state prefixes (PrefixWatch, the bridge's watch) and, for each put, writes
 * the precomputed output's put (outputs.ts) as one plain put: no read, no marker, no compare, no
 * checkpoint, no transaction, no batching, no delete of job_state. Only a key's writes are kept in
 * order (each waits for the key's previous one), as any design must.
 *
 * What is left is what no design can take away while job_state is a record of its own that the
 * state record follows: three raft writes in series an event (the input, job_state, state), each
 * seen through a watch. Its latency at the fixed load is the floor under every design on this
 * machine (bench/floor.ts compares it with the ideal client and the bridge).
 *
 * `fused: true` is the floor of a different design, one this project does not have: job_state and
 * state written together in one transaction as soon as the heat stack is seen, so an event costs two
 * raft writes in series (the input and that transaction) instead of three. It is measured to show
 * what such a change of the design's contract could buy, not as a limit of this one.
 */
import type { Etcd3 } from 'etcd3';
import { mutationOp } from '../../bridge/etcd/ops.js';
import { PrefixWatch, type SourceEvent } from '../../bridge/source/prefix-watch.js';
import type { Mutation } from '../../shared/index.js';
import type { IdealOutputs } from './outputs.js';

export class FloorClient {
  private readonly watches: PrefixWatch[] = [];
  /** Per output key, the write in flight (the next one waits for it). */
  private readonly writing = new Map<string, Promise<void>>();
  private failure: Error | undefined;
  /** Writes completed: plain puts, or transactions when fused (one an event). */
  writes = 0;

  private constructor(private readonly client: Etcd3) {}

  static start(client: Etcd3, outputs: IdealOutputs, fromRevision: bigint, fused = false): FloorClient {
    const floor = new FloorClient(client);
    const stages: Array<[string, (event: SourceEvent) => readonly Mutation[] | undefined]> = fused
      ? [['/esi-worker/heat_stacks/', (event) => fusedOutputs(outputs, event)]]
      : [
          ['/esi-worker/heat_stacks/', (event) => outputs.takeHeatStack(event.key)],
          ['/esi-worker/job_state/', (event) => outputs.takeJobState(event.key, event.revision)],
        ];
    for (const [prefix, answer] of stages) {
      const watch = new PrefixWatch(client, prefix, {
        onEvents: (events) => {
          for (const event of events) if (event.type === 'put') floor.write(event, answer(event));
        },
        onCompacted: (revision) => floor.fail(new Error(`floor client: watch compacted at ${revision}`)),
      });
      floor.watches.push(watch);
      watch.start(fromRevision);
    }
    return floor;
  }

  check(): void {
    if (this.failure) throw this.failure;
  }

  stop(): void {
    for (const watch of this.watches) watch.stop();
  }

  private write(event: SourceEvent, mutations: readonly Mutation[] | undefined): void {
    if (!mutations) {
      this.fail(new Error(`floor client: no precomputed output for ${event.key}`));
      return;
    }
    const puts = mutations.filter((m) => m.op === 'put');
    const [first] = puts;
    if (!first) return;
    if (puts.length === 1) {
      this.inOrder(first.key, () => this.client.put(first.key).value(first.value).exec());
      return;
    }
    // Fused: the event's puts in one transaction, behind the previous write of its first key (job_state).
    this.inOrder(first.key, () =>
      this.client.kv.txn({ compare: [], success: puts.map(mutationOp), failure: [] }),
    );
  }

  /** Runs `write` after the key's previous write, and keeps it as the key's last. */
  private inOrder(key: string, write: () => Promise<unknown>): void {
    const before = this.writing.get(key) ?? Promise.resolve();
    const next = before
      .then(write)
      .then(() => {
        this.writes++;
        if (this.writing.get(key) === next) this.writing.delete(key);
      })
      .catch((error: unknown) => this.fail(error instanceof Error ? error : new Error(String(error))));
    this.writing.set(key, next);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.stop();
  }
}

/** Both stages' puts for one heat stack revision: job_state, then the state that follows from it. */
function fusedOutputs(outputs: IdealOutputs, event: SourceEvent): readonly Mutation[] | undefined {
  const heatStacks = outputs.takeHeatStack(event.key);
  const jobState = heatStacks?.find((m) => m.op === 'put');
  if (!heatStacks || !jobState) return undefined;
  const jobStateOutputs = outputs.takeJobState(jobState.key, event.revision);
  return jobStateOutputs ? [...heatStacks, ...jobStateOutputs] : undefined;
}
