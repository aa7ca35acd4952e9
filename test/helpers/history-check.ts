/**
 * The one history checker of the fault tests and the soak: judges etcd's own history (every put
 * and delete from revision 1, as `history()` or `historyFrom(…, 1)` returns it), never the
 * bridges' logs, and counts each kind of violation of the design's invariants (docs/design.md) so
 * that the soak can print them as a table and a fault test can show them in words. Its negative
 * tests, one per kind, are in test/soak/check.test.ts.
 *
 * What it counts (the pipeline of the two built-in routes, over `/esi-worker/heat_stacks/v2.0/`):
 *
 * - lost: a heat stack revision with no job_state put made from it, or a job_state put with no
 *   state put made from it (invariant 1). A caller may excuse heat stack revisions that could
 *   rightly be skipped (`mayBeSkipped`: overwritten and compacted away while no bridge ran). "Made from" is read from the route's applied marker,
 *   which the bridge writes in the same transaction as the outputs (invariant 2): a job_state put
 *   is attributed to the heat stack revision its marker names, a state put to the job_state
 *   revision its marker names.
 * - duplicated: every output beyond the first made from one source revision (invariant 2).
 * - out of order: a key's output committed after an output of a later revision of that key
 *   (invariant 3): per key, the source revisions of successive job_state puts, and of successive
 *   state puts, must strictly increase. So the outputs' sequence numbers follow the inputs' order.
 * - wrong content: an output that does not carry its source's sequence number / stack status, a
 *   state whose worker_state is not the one the record rules give (from its job_state's stack
 *   status and the key's previous state), a job_state delete that does not follow the rule
 *   (deleted in the state's transaction iff no newer job_state replaced it) or that comes without
 *   a state put, an output with no marker in its transaction, an applied marker that moves
 *   backwards or is deleted (a record applied twice would write its marker twice), a state record
 *   deleted (the pipeline never deletes one).
 * - committed by a deposed leader: a pipeline write (job_state, state, or anything under the
 *   group's bookkeeping root except the election keys) inside a fencing window, a stretch of
 *   revisions during which only a bridge that had lost its leadership was running (invariant 4).
 *   The soak makes those windows (see faults.ts).
 * - unfinished: a key whose final state does not carry its last heat stack revision's sequence
 *   number, or whose last job_state was left behind (after the soak's drain).
 * - dead-lettered: entries under the group's dead-letter prefix (the workload has no bad input, so
 *   any entry is a record the pipeline gave up on).
 */
import { keyspaceFor } from '../../bridge/keyspace.js';
import { KEY_PATTERNS } from '../../shared/index.js';
import { workerStateFor } from '../../shared/worker-state.js';
import type { HistoryEvent } from './etcd.js';

export const API = 'v2.0';
const HEAT = `${KEY_PATTERNS.heatStack.prefix}${API}/`;
const JOB = `${KEY_PATTERNS.jobState.prefix}${API}/`;
const STATE = `${KEY_PATTERNS.state.prefix}${API}/`;

/** Revisions (from, to] during which only a deposed bridge could run. */
export interface FenceWindow {
  readonly fromRevision: number;
  readonly toRevision: number;
}

export interface CheckOptions {
  /** The bridges' group (their applied markers live under it). */
  group: string;
  /** Stretches of revisions during which only a deposed bridge ran (the soak makes them). */
  fenceWindows?: readonly FenceWindow[];
  /** Heat stack revisions that may rightly have no job_state put (overwritten and compacted away). */
  mayBeSkipped?(revision: number, ref: string): boolean;
}

export interface HistoryCheck {
  /** Heat stack revisions in the history (the inputs). */
  records: number;
  /** Heat stack revisions carrying the same sequence number as the key's previous one (a retried put). */
  duplicateInputs: number;
  keys: number;
  jobStatePuts: number;
  statePuts: number;
  jobStateDeletes: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  wrongContent: number;
  deposedCommits: number;
  unfinished: number;
  deadLettered: number;
  /** The first problems found, in words (at most 50). */
  problems: string[];
  /** For each input that reached a state: heat stack revision → state revision. */
  chains: Array<{ seq: number; heatRevision: number; stateRevision: number }>;
}

interface Output {
  readonly revision: number;
  readonly source: number;
  readonly seq: number;
  /** job_state: its orchestration_state; state: its worker_state. */
  readonly status: string;
}

const MAX_PROBLEMS = 50;

export function checkHistory(events: readonly HistoryEvent[], options: CheckOptions): HistoryCheck {
  const keyspace = keyspaceFor(options.group);
  const heatMarkerRoot = keyspace.appliedPrefix('heat-stacks');
  const jobMarkerRoot = keyspace.appliedPrefix('job-state');
  const result: HistoryCheck = {
    records: 0,
    duplicateInputs: 0,
    keys: 0,
    jobStatePuts: 0,
    statePuts: 0,
    jobStateDeletes: 0,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    wrongContent: 0,
    deposedCommits: 0,
    unfinished: 0,
    deadLettered: 0,
    problems: [],
    chains: [],
  };
  const problem = (text: string): void => {
    if (result.problems.length < MAX_PROBLEMS) result.problems.push(text);
    else if (result.problems.length === MAX_PROBLEMS) result.problems.push('... (more problems left off)');
  };

  // Markers by transaction: "<revision> <source key>" → the revision the marker names.
  const heatMarkers = new Map<string, number>();
  const jobMarkers = new Map<string, number>();
  // Keys deleted per transaction, for the job_state delete rule; keys put, for "a delete with its state".
  const deletes = new Map<number, Set<string>>();
  const puts = new Map<number, Set<string>>();
  // Applied markers only move forward.
  const appliedRoot = `${keyspace.root}applied/`;
  const markerValues = new Map<string, number>();
  for (const event of events) {
    if (event.key.startsWith(appliedRoot)) {
      if (event.type === 'delete') {
        result.wrongContent++;
        problem(`applied marker ${event.key} deleted at ${event.modRevision}`);
      } else {
        const value = Number(event.value);
        const before = markerValues.get(event.key);
        if (before !== undefined && value <= before) {
          result.wrongContent++;
          problem(`applied marker ${event.key} went from ${before} to ${value} at ${event.modRevision}`);
        }
        markerValues.set(event.key, value);
      }
    }
    if (event.type === 'put') {
      const set = puts.get(event.modRevision) ?? new Set<string>();
      set.add(event.key);
      puts.set(event.modRevision, set);
    }
    if (event.type === 'delete') {
      const set = deletes.get(event.modRevision) ?? new Set<string>();
      set.add(event.key);
      deletes.set(event.modRevision, set);
    } else if (event.key.startsWith(heatMarkerRoot)) {
      heatMarkers.set(`${event.modRevision} ${event.key.slice(heatMarkerRoot.length)}`, Number(event.value));
    } else if (event.key.startsWith(jobMarkerRoot)) {
      jobMarkers.set(`${event.modRevision} ${event.key.slice(jobMarkerRoot.length)}`, Number(event.value));
    }
  }

  const heats = new Map<string, Array<{ revision: number; seq: number; status: string }>>();
  const heatAt = new Map<string, { seq: number; status: string }>();
  const jobs = new Map<string, Output[]>();
  const jobAt = new Map<string, Output>();
  const jobsFrom = new Map<string, Output[]>();
  const states = new Map<string, Output[]>();
  const statesFrom = new Map<string, Output[]>();
  const lastJobEvent = new Map<string, 'put' | 'delete'>();
  const lastStateEvent = new Map<string, 'put' | 'delete'>();
  const windows = [...(options.fenceWindows ?? [])];
  const dlqRoot = keyspace.dlqPrefix();
  const electionRoot = `${keyspace.root}election/`;

  for (const event of events) {
    const { key, modRevision: revision } = event;
    const pipelineWrite =
      key.startsWith(KEY_PATTERNS.jobState.prefix) ||
      key.startsWith(KEY_PATTERNS.state.prefix) ||
      (key.startsWith(keyspace.root) && !key.startsWith(electionRoot));
    if (pipelineWrite) {
      const window = windows.find((w) => revision > w.fromRevision && revision <= w.toRevision);
      if (window) {
        result.deposedCommits++;
        problem(
          `${event.type} ${key}@${revision} inside fencing window (${window.fromRevision}, ${window.toRevision}]: only a deposed bridge was running`,
        );
      }
    }
    if (key.startsWith(dlqRoot) && event.type === 'put') {
      result.deadLettered++;
      problem(`dead-lettered: ${key}@${revision}`);
    }

    if (key.startsWith(HEAT)) {
      if (event.type !== 'put') continue;
      const ref = key.slice(HEAT.length);
      const value = parseJson(event.value) as { stack_status?: string; output?: [{ output_value?: number }] };
      const seq = Number(value?.output?.[0]?.output_value);
      const status = String(value?.stack_status);
      const list = heats.get(ref) ?? [];
      if (list.at(-1)?.seq === seq) result.duplicateInputs++;
      list.push({ revision, seq, status });
      heats.set(ref, list);
      heatAt.set(`${ref}@${revision}`, { seq, status });
      result.records++;
      continue;
    }

    if (key.startsWith(JOB)) {
      const ref = key.slice(JOB.length);
      lastJobEvent.set(ref, event.type);
      if (event.type === 'delete') {
        result.jobStateDeletes++;
        if (!puts.get(revision)?.has(`${STATE}${ref}`)) {
          result.wrongContent++;
          problem(`job_state ${ref} deleted at ${revision} without a state put`);
        }
        continue;
      }
      result.jobStatePuts++;
      const value = parseJson(event.value) as {
        heat_outputs?: [{ output_value?: number }];
        orchestration_state?: string;
      };
      const seq = Number(value?.heat_outputs?.[0]?.output_value);
      const source = heatMarkers.get(`${revision} ${HEAT}${ref}`);
      if (source === undefined) {
        result.wrongContent++;
        problem(`job_state ${ref}@${revision} (seq ${seq}) has no heat-stacks marker in its transaction`);
        continue;
      }
      const heat = heatAt.get(`${ref}@${source}`);
      if (!heat) {
        result.wrongContent++;
        problem(`job_state ${ref}@${revision}: its marker names ${source}, not a heat stack put of the key`);
        continue;
      }
      if (heat.seq !== seq || heat.status !== value?.orchestration_state) {
        result.wrongContent++;
        problem(
          `job_state ${ref}@${revision} carries seq ${seq} / ${String(value?.orchestration_state)}, its source ${source} seq ${heat.seq} / ${heat.status}`,
        );
      }
      const output = { revision, source, seq, status: String(value?.orchestration_state) };
      const list = jobs.get(ref) ?? [];
      const previous = list.at(-1);
      if (previous && source <= previous.source) {
        result.outOfOrder++;
        problem(
          `job_state of ${ref} out of order: from heat stack @${source} (seq ${seq}) at ${revision}, after one from @${previous.source} (seq ${previous.seq})`,
        );
      }
      list.push(output);
      jobs.set(ref, list);
      jobAt.set(`${ref}@${revision}`, output);
      const from = jobsFrom.get(`${ref}@${source}`) ?? [];
      from.push(output);
      jobsFrom.set(`${ref}@${source}`, from);
      continue;
    }

    if (key.startsWith(STATE)) {
      const ref = key.slice(STATE.length);
      lastStateEvent.set(ref, event.type);
      if (event.type === 'delete') {
        // The pipeline never deletes a state record: other components read it as the resource's state.
        result.wrongContent++;
        problem(`state ${ref} deleted at ${revision}`);
        continue;
      }
      result.statePuts++;
      const seq = stateSeq(event.value);
      const workerState = String(
        (parseJson(event.value) as { state?: { worker_state?: string } } | undefined)?.state?.worker_state,
      );
      const source = jobMarkers.get(`${revision} ${JOB}${ref}`);
      if (source === undefined) {
        result.wrongContent++;
        problem(`state ${ref}@${revision} (seq ${seq}) has no job-state marker in its transaction`);
        continue;
      }
      const job = jobAt.get(`${ref}@${source}`);
      if (!job) {
        result.wrongContent++;
        problem(`state ${ref}@${revision}: its marker names ${source}, not a job_state put of the key`);
        continue;
      }
      const previousState = states.get(ref)?.at(-1);
      const expectedWorkerState = workerStateFor(job.status, previousState?.status)?.workerState;
      if (job.seq !== seq || workerState !== expectedWorkerState) {
        result.wrongContent++;
        problem(
          `state ${ref}@${revision} carries seq ${seq} / ${workerState}, expected seq ${job.seq} / ${expectedWorkerState} from job_state@${source}`,
        );
      }
      const replaced = (jobs.get(ref) ?? []).some((j) => j.revision > source && j.revision < revision);
      const deleted = deletes.get(revision)?.has(`${JOB}${ref}`) ?? false;
      if (deleted === replaced) {
        result.wrongContent++;
        problem(
          `state ${ref}@${revision}: job_state ${deleted ? 'deleted although a newer one replaced it' : 'not deleted although still at the processed revision'}`,
        );
      }
      const output = { revision, source, seq, status: workerState };
      const list = states.get(ref) ?? [];
      const previous = list.at(-1);
      if (previous && source <= previous.source) {
        result.outOfOrder++;
        problem(
          `state of ${ref} out of order: from job_state@${source} (seq ${seq}) at ${revision}, after one from job_state@${previous.source} (seq ${previous.seq})`,
        );
      }
      list.push(output);
      states.set(ref, list);
      const from = statesFrom.get(`${ref}@${source}`) ?? [];
      from.push(output);
      statesFrom.set(`${ref}@${source}`, from);
    }
  }

  // Exactly one output per source revision.
  for (const [ref, list] of heats) {
    for (const heat of list) {
      const made = jobsFrom.get(`${ref}@${heat.revision}`) ?? [];
      if (made.length === 0 && options.mayBeSkipped?.(heat.revision, ref)) continue;
      if (made.length === 0) {
        result.lost++;
        problem(`heat stack ${ref}@${heat.revision} (seq ${heat.seq}) produced no job_state put (lost)`);
        continue;
      }
      if (made.length > 1) {
        result.duplicated += made.length - 1;
        problem(
          `heat stack ${ref}@${heat.revision} (seq ${heat.seq}) produced ${made.length} job_state puts (at ${made.map((m) => m.revision).join(', ')})`,
        );
      }
      const state = statesFrom.get(`${ref}@${made[0]!.revision}`)?.[0];
      if (state)
        result.chains.push({ seq: heat.seq, heatRevision: heat.revision, stateRevision: state.revision });
    }
  }
  for (const [ref, list] of jobs) {
    for (const job of list) {
      const made = statesFrom.get(`${ref}@${job.revision}`) ?? [];
      if (made.length === 0) {
        result.lost++;
        problem(`job_state ${ref}@${job.revision} (seq ${job.seq}) produced no state put (lost)`);
      } else if (made.length > 1) {
        result.duplicated += made.length - 1;
        problem(
          `job_state ${ref}@${job.revision} (seq ${job.seq}) produced ${made.length} state puts (at ${made.map((m) => m.revision).join(', ')})`,
        );
      }
    }
  }

  // The end: every key's state carries its last input; no job_state left.
  for (const [ref, list] of heats) {
    const last = list.at(-1)!;
    const state = lastStateEvent.get(ref) === 'put' ? states.get(ref)?.at(-1) : undefined;
    if (state?.seq !== last.seq || lastJobEvent.get(ref) !== 'delete') {
      result.unfinished++;
      problem(
        `key ${ref} unfinished: final state seq ${state?.seq ?? 'none'}, last heat stack seq ${last.seq}, job_state ${lastJobEvent.get(ref) === 'delete' ? 'deleted' : 'left behind'}`,
      );
    }
  }
  result.keys = heats.size;
  return result;
}

/** True when no invariant was violated. */
export function passed(check: Omit<HistoryCheck, 'chains' | 'problems'>): boolean {
  return (
    check.lost === 0 &&
    check.duplicated === 0 &&
    check.outOfOrder === 0 &&
    check.wrongContent === 0 &&
    check.deposedCommits === 0 &&
    check.unfinished === 0 &&
    check.deadLettered === 0
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The seq a state record carries (in its `heat_outputs` string); NaN if it has none. */
export function stateSeq(text: string): number {
  const value = parseJson(text) as { state?: { heat_outputs?: string } } | undefined;
  const outputs = parseJson(value?.state?.heat_outputs ?? '') as [{ output_value?: number }] | undefined;
  return Number(outputs?.[0]?.output_value);
}
