/**
 * The ideal client's precomputed outputs: what the two stages answer for each input of a workload,
 * computed before the measured window by the real stage transforms (so the keys and bytes it writes
 * are the bridge's, and nothing can drift), and handed out in each key's revision order while the
 * run goes on. The client then does the pipeline's etcd work and none of its transform work.
 */
import {
  heatStacksTransform,
  jobStateTransform,
  type Mutation,
  type StageRecord,
} from '../../shared/index.js';
import { configValue, makeWorkload } from '../workload.js';

/** One workload as the load worker generates it (load.ts makes the same from the same fields). */
export interface WorkloadSpec {
  readonly tag: string;
  readonly keys: number;
  readonly firstSeq: number;
  readonly events: number;
}

/** A source revision the precompute stands for; the real one is known only when the watch sees it. */
const PLACEHOLDER_REVISION = '1';

export class IdealOutputs {
  /** Stage heat-stacks' mutations, per heat stack key, in the key's revision order. */
  private readonly heatStacks = new Map<string, Mutation[][]>();
  /** Stage job-state's mutations, per job_state key, in the order stage heat-stacks writes them. */
  private readonly jobStates = new Map<string, Mutation[][]>();

  /**
   * Adds a workload's outputs. The job-state stage reads what the bench's etcd holds for each key
   * when it runs: the config record (version 2, written by the load before its inputs), no state
   * record the version rule needs (the workload has no rollback status), and the heat stack input.
   */
  add(spec: WorkloadSpec, jobStateReads: (jobStateKey: string) => readonly string[]): void {
    const workload = makeWorkload(spec.tag, spec.keys, spec.firstSeq);
    for (let i = 0; i < spec.events; i++) {
      const input = workload.record(i);
      const heatStacks = heatStacksTransform(
        record(input.key, input.value, Object.create(null) as Record<string, string | null>),
      ).map(flat);
      push(this.heatStacks, input.key, heatStacks);
      const jobState = heatStacks.find((m) => m.op === 'put');
      if (jobState?.op !== 'put') throw new Error(`stage heat-stacks wrote nothing for ${input.key}`);
      const reads: Record<string, string | null> = Object.create(null);
      for (const key of jobStateReads(jobState.key)) {
        reads[key] = key === input.key ? input.value : key.startsWith('/config/') ? configValue(2) : null;
      }
      push(
        this.jobStates,
        jobState.key,
        jobStateTransform(record(jobState.key, jobState.value, reads)).map(flat),
      );
    }
  }

  /** Stage heat-stacks' answer for the next revision of this heat stack key. */
  takeHeatStack(key: string): readonly Mutation[] | undefined {
    return this.heatStacks.get(key)?.shift();
  }

  /** Stage job-state's answer for the next job_state revision of this key, at `modRevision`. */
  takeJobState(key: string, modRevision: bigint): readonly Mutation[] | undefined {
    const mutations = this.jobStates.get(key)?.shift();
    // The conditional delete names the job_state revision it processed: only now is it known.
    return mutations?.map((m) =>
      m.op === 'delete' && m.ifModRevision !== undefined
        ? { ...m, ifModRevision: modRevision.toString() }
        : m,
    );
  }
}

function record(key: string, value: string, reads: Record<string, string | null>): StageRecord {
  return { id: '0', type: 'put', key, value, modRevision: PLACEHOLDER_REVISION, reads };
}

/**
 * The codec builds its output by concatenation, which V8 keeps as a rope; flattened here, once,
 * so the measured window does not pay for it (the bridge does: docs/performance.md).
 */
function flat(mutation: Mutation): Mutation {
  return mutation.op === 'put'
    ? { ...mutation, value: Buffer.from(mutation.value, 'utf8').toString('utf8') }
    : mutation;
}

function push(map: Map<string, Mutation[][]>, key: string, mutations: Mutation[]): void {
  const list = map.get(key);
  if (list) list.push(mutations);
  else map.set(key, [mutations]);
}
