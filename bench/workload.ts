/**
 * The benchmark's inputs: heat stack records (1) over a fixed set of keys, round-robin, so record
 * i and i + keys are two revisions of one key and any `keys` consecutive records touch distinct
 * keys. Each record carries its sequence number as the first output's `output_value`, which the
 * job-state stage copies into the state record (3): a state write names the input it came from.
 */
import type { Etcd3 } from 'etcd3';
import { MAX_TXN_OPS, op } from '../bridge/etcd/ops.js';
import { KEY_PATTERNS } from '../shared/index.js';

const API = 'v2.0';
const COLLECTIONS = ['vnf_instances', 'ports', 'networks', 'load_balancers', 'firewall_interfaces'];
export const HEAT_STACK_ROOT = `${KEY_PATTERNS.heatStack.prefix}${API}/`;
export const STATE_ROOT = `${KEY_PATTERNS.state.prefix}${API}/`;
export const JOB_STATE_ROOT = `${KEY_PATTERNS.jobState.prefix}${API}/`;
const CONFIG_ROOT = `${KEY_PATTERNS.config.prefix}${API}/`;

export interface BenchInput {
  readonly seq: number;
  readonly key: string;
  readonly value: string;
}

export interface Workload {
  /** Distinguishes this workload's keys: `<collection>/<tag>-<n>`. */
  readonly tag: string;
  readonly keys: number;
  readonly refs: readonly string[];
  /** The i-th record (0-based); its seq is `firstSeq + i`. */
  record(i: number): BenchInput;
  /** True for a state key of this workload. */
  ownsStateKey(key: string): boolean;
  /** True for a job_state key of this workload. */
  ownsJobStateKey(key: string): boolean;
}

/** A status sequence each key goes through, so both stages see the common cases. */
function stackStatus(revisionOfKey: number): string {
  if (revisionOfKey === 0) return 'CREATE_COMPLETE';
  if (revisionOfKey % 10 === 9) return 'UPDATE_FAILED';
  return revisionOfKey % 2 === 1 ? 'UPDATE_IN_PROGRESS' : 'UPDATE_COMPLETE';
}

/** A heat stack record shaped like the seed's (three outputs, Python's indented layout). */
export function heatStackValue(seq: number, ref: string, status: string): string {
  const id = ref.slice(ref.indexOf('/') + 1);
  const stack = {
    stack_id: `vnf_instance_${id}`,
    tenant_id: 'fe3a4a1a72c04479bb6c19c2c0ccba4c',
    stack_status: status,
    output: [
      { output_value: seq, description: 'Bench sequence number of this revision.', output_key: 'bench_seq' },
      {
        output_value: `${id}-server`,
        description: 'A unique id for the nova server.',
        output_key: 'server_id',
      },
      {
        output_value: `http://collector-agents-se:7070/targets/${id}`,
        description: 'Monitoring Process Link',
        output_key: 'monitoring_link',
      },
    ],
    status_reason: status.endsWith('FAILED')
      ? `Resource UPDATE failed: seq ${seq}`
      : 'Stack successfully updated',
    id: `vnf_instance:${id}`,
  };
  return JSON.stringify(stack, null, 4).replaceAll(',\n', ', \n');
}

export function configValue(version: number): string {
  return JSON.stringify({ body: { orchestration_state: 'UPDATE_IN_PROGRESS' }, version }, null, 4);
}

export function makeWorkload(tag: string, keys: number, firstSeq = 1): Workload {
  if (!/^[a-z0-9]+$/.test(tag)) throw new Error(`workload tag must be [a-z0-9]+, got ${tag}`);
  const refs = Array.from({ length: keys }, (_, i) => `${COLLECTIONS[i % COLLECTIONS.length]}/${tag}-${i}`);
  const marker = `/${tag}-`;
  return {
    tag,
    keys,
    refs,
    record(i) {
      const ref = refs[i % keys]!;
      const seq = firstSeq + i;
      return {
        seq,
        key: `${HEAT_STACK_ROOT}${ref}`,
        value: heatStackValue(seq, ref, stackStatus(Math.floor(i / keys))),
      };
    },
    ownsStateKey: (key) => key.startsWith(STATE_ROOT) && key.includes(marker),
    ownsJobStateKey: (key) => key.startsWith(JOB_STATE_ROOT) && key.includes(marker),
  };
}

/** The bench sequence number a state record (3) carries, from its `heat_outputs` string. */
export function stateSeq(value: string): number | undefined {
  try {
    const record = JSON.parse(value) as { state?: { heat_outputs?: unknown } };
    const outputs = JSON.parse(String(record.state?.heat_outputs)) as Array<{
      output_key?: unknown;
      output_value?: unknown;
    }>;
    const first = outputs[0];
    return first?.output_key === 'bench_seq' && typeof first.output_value === 'number'
      ? first.output_value
      : undefined;
  } catch {
    return undefined;
  }
}

/** The bench sequence number a job_state record (2) carries, from its `heat_outputs` list. */
export function jobStateSeq(value: string): number | undefined {
  try {
    const record = JSON.parse(value) as {
      heat_outputs?: Array<{ output_key?: unknown; output_value?: unknown }>;
    };
    const first = record.heat_outputs?.[0];
    return first?.output_key === 'bench_seq' && typeof first.output_value === 'number'
      ? first.output_value
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes records [from, to) one put each — one revision a record, as the Heat side writes them —
 * with up to `parallel` puts in flight; a key's next revision waits for its previous one, so each
 * key's revisions land in order.
 */
export async function writeInputs(
  client: Etcd3,
  workload: Workload,
  from: number,
  to: number,
  options: { parallel?: number; onWritten?: (written: number) => void } = {},
): Promise<void> {
  const parallel = options.parallel ?? 32;
  const lastOfKey = new Map<string, Promise<unknown>>();
  let next = from;
  let written = 0;
  const worker = async () => {
    while (next < to) {
      const input = workload.record(next++);
      const previous = lastOfKey.get(input.key);
      if (previous) await previous;
      const put = client.put(input.key).value(input.value).exec();
      lastOfKey.set(input.key, put);
      await put;
      written++;
      if (written % 128 === 0 || written === to - from) options.onWritten?.(written);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, worker));
}

/** A config record (version 2) for every key of the workload, as the orchestrator would have. */
export async function writeConfigs(client: Etcd3, workload: Workload): Promise<void> {
  for (let i = 0; i < workload.refs.length; i += MAX_TXN_OPS) {
    const success = workload.refs
      .slice(i, i + MAX_TXN_OPS)
      .map((ref) => op.put(`${CONFIG_ROOT}${ref}`, configValue(2)));
    await client.kv.txn({ compare: [], success, failure: [] });
  }
}
