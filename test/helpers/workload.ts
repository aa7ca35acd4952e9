/**
 * The fault tests' workload and judge.
 *
 * A workload is N heat stack records over K keys, several revisions a key, each carrying a sequence
 * number in its output (`output_value`), so what the pipeline wrote can be traced back to the exact
 * input revision. `checkPipeline` judges etcd's own history (never the bridge's logs) with the one
 * history checker the soak uses too (test/helpers/history-check.ts).
 */
import { Etcd3, type IRequestOp, type IWatchResponse } from 'etcd3';
import { op } from '../../bridge/etcd/ops.js';
import { KEY_PATTERNS } from '../../shared/index.js';
import { type HistoryEvent, testClientOptions } from './etcd.js';
import { type CheckOptions, checkHistory, type HistoryCheck, stateSeq } from './history-check.js';

export { type CheckOptions, stateSeq };

export const API = 'v2.0';
const COLLECTIONS = ['ports', 'networks', 'vnf_instances', 'load_balancers', 'firewall_interfaces'];
const HEAT_ROOT = KEY_PATTERNS.heatStack.prefix;
const JOB_ROOT = KEY_PATTERNS.jobState.prefix;
const STATE_ROOT = KEY_PATTERNS.state.prefix;

export const heatKey = (ref: string): string => `${HEAT_ROOT}${API}/${ref}`;
export const jobKey = (ref: string): string => `${JOB_ROOT}${API}/${ref}`;
export const stateKey = (ref: string): string => `${STATE_ROOT}${API}/${ref}`;

export interface WorkloadRecord {
  /** 1-based, unique over the workload, increasing in write order. */
  readonly seq: number;
  /** `<collection>/<id>`. */
  readonly ref: string;
  readonly key: string;
  readonly stackStatus: string;
  readonly value: string;
}

export interface WorkloadOptions {
  records: number;
  keys: number;
  seed: number;
  /** Seq of the first record (for a second workload over the same keys). */
  firstSeq?: number;
  /** Key names are `<collection>/<prefix><n>-<hex>`; distinct prefixes give distinct key sets. */
  keyPrefix?: string;
  /** Use these refs instead of making new ones. */
  refs?: readonly string[];
  /**
   * 'random' (default): after the first round, each record goes to a random key. 'rounds': every
   * key once per round, in a new shuffled order each round (so any K consecutive records have
   * distinct keys, which fills transactions of puts).
   */
  order?: 'random' | 'rounds';
}

/** A small seeded PRNG (mulberry32): a failing seed replays the same run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeRefs(count: number, seed: number, prefix = 'k'): string[] {
  const random = seededRandom(seed ^ 0x5bd1e995);
  return Array.from({ length: count }, (_, i) => {
    const collection = COLLECTIONS[i % COLLECTIONS.length]!;
    const hex = Math.floor(random() * 0xffffffff)
      .toString(16)
      .padStart(8, '0');
    return `${collection}/${prefix}${i}-${hex}`;
  });
}

export function heatStackValue(seq: number, stackStatus: string): string {
  return JSON.stringify({
    stack_status: stackStatus,
    output: [{ output_key: 'n', output_value: seq }],
    status_reason: `ok ${seq}`,
  });
}

/**
 * Every key gets at least one record (the first K, in a shuffled order), the rest go to random keys.
 * A key's first record creates the stack; later ones update or roll back.
 */
export function makeWorkload(options: WorkloadOptions): WorkloadRecord[] {
  const random = seededRandom(options.seed);
  const refs = options.refs ? [...options.refs] : makeRefs(options.keys, options.seed, options.keyPrefix);
  const shuffled = (): string[] => {
    const order = [...refs];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return order;
  };
  let order = shuffled();
  const started = new Set<string>(options.refs ?? []);
  const records: WorkloadRecord[] = [];
  const firstSeq = options.firstSeq ?? 1;
  for (let i = 0; i < options.records; i++) {
    if (options.order === 'rounds' && i > 0 && i % refs.length === 0) order = shuffled();
    const ref =
      i < order.length || options.order === 'rounds'
        ? order[i % order.length]!
        : refs[Math.floor(random() * refs.length)]!;
    const roll = random();
    const stackStatus = !started.has(ref)
      ? roll < 0.8
        ? 'CREATE_COMPLETE'
        : 'CREATE_IN_PROGRESS'
      : roll < 0.6
        ? 'UPDATE_COMPLETE'
        : roll < 0.8
          ? 'UPDATE_IN_PROGRESS'
          : roll < 0.9
            ? 'ROLLBACK_IN_PROGRESS'
            : 'ROLLBACK_COMPLETE';
    started.add(ref);
    const seq = firstSeq + i;
    records.push({ seq, ref, key: heatKey(ref), stackStatus, value: heatStackValue(seq, stackStatus) });
  }
  return records;
}

/** The last record of each key: what its final state must reflect. */
export function lastByRef(records: readonly WorkloadRecord[]): Map<string, WorkloadRecord> {
  const last = new Map<string, WorkloadRecord>();
  for (const record of records) last.set(record.ref, record);
  return last;
}

export interface WriteOptions {
  /** Records a second; unpaced when omitted. */
  perSecond?: number;
  /** Puts in flight at once (never two of one key, so a key's revisions follow its seq order). */
  parallel?: number;
  /** Called after each written record. */
  onWritten?(written: number): void;
  signal?: AbortSignal;
}

export interface WriteStats {
  written: number;
  /** Puts that failed and were sent again: the first may have committed too (a duplicate revision). */
  retried: number;
}

/**
 * Writes the records in order, paced, retrying each failed put until it succeeds (etcd restarts and
 * network cuts are expected). A put whose answer was lost may have committed, so a retry can leave
 * two revisions with one seq: `checkPipeline` judges revisions, so that is still checked exactly.
 */
export async function writeRecords(
  client: Etcd3,
  records: readonly WorkloadRecord[],
  options: WriteOptions = {},
): Promise<WriteStats> {
  const parallel = options.parallel ?? 8;
  const stats: WriteStats = { written: 0, retried: 0 };
  const started = Date.now();
  let i = 0;
  while (i < records.length) {
    if (options.signal?.aborted) throw new Error('writeRecords: aborted');
    if (options.perSecond) {
      const due = started + (i * 1000) / options.perSecond;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
    }
    const chunk: WorkloadRecord[] = [];
    const keys = new Set<string>();
    while (i < records.length && chunk.length < parallel && !keys.has(records[i]!.key)) {
      keys.add(records[i]!.key);
      chunk.push(records[i]!);
      i++;
    }
    await Promise.all(
      chunk.map(async (record) => {
        for (;;) {
          try {
            await client.put(record.key).value(record.value);
            break;
          } catch {
            if (options.signal?.aborted) throw new Error('writeRecords: aborted');
            stats.retried++;
            await sleep(100);
          }
        }
      }),
    );
    stats.written += chunk.length;
    options.onWritten?.(stats.written);
  }
  return stats;
}

/** Writes the records as transactions of up to `opsPerTxn` puts (distinct keys each), in order. */
export async function writeBatched(
  client: Etcd3,
  records: readonly WorkloadRecord[],
  opsPerTxn = 128,
): Promise<void> {
  let i = 0;
  while (i < records.length) {
    const ops: IRequestOp[] = [];
    const keys = new Set<string>();
    while (i < records.length && ops.length < opsPerTxn && !keys.has(records[i]!.key)) {
      keys.add(records[i]!.key);
      ops.push(op.put(records[i]!.key, records[i]!.value));
      i++;
    }
    await client.kv.txn({ compare: [], success: ops, failure: [] });
  }
}

export interface PipelineWait {
  /** Every key's state carries its last record's seq, and no job_state key is left. */
  done: boolean;
  /** Keys without their last state when the wait ended. */
  missing: number;
  jobStateLeft: number;
  waitedMs: number;
}

/**
 * Polls until every key's state record carries its last record's seq and no job_state key is left
 * (the last job_state of each key was processed and deleted). Gives up after `timeoutMs`, or once
 * the pipeline made no progress for `quietMs` (a stall), so that the caller can report what the
 * history shows instead of only "timed out".
 */
export async function waitForPipeline(
  client: Etcd3,
  records: readonly WorkloadRecord[],
  options: { timeoutMs: number; quietMs?: number },
): Promise<PipelineWait> {
  const expected = lastByRef(records);
  const started = Date.now();
  const quietMs = options.quietMs ?? 8_000;
  let missing = expected.size;
  let jobStateLeft = -1;
  let progress = '';
  let movedAt = Date.now();
  for (;;) {
    try {
      const states = await client.getAll().prefix(`${STATE_ROOT}${API}/`).strings();
      missing = 0;
      let seqSum = 0;
      for (const [ref, record] of expected) {
        const text = states[stateKey(ref)];
        const seq = text === undefined ? 0 : stateSeq(text);
        seqSum += seq;
        if (seq !== record.seq) missing++;
      }
      jobStateLeft = await client.getAll().prefix(JOB_ROOT).count();
      if (missing === 0 && jobStateLeft === 0)
        return { done: true, missing, jobStateLeft, waitedMs: Date.now() - started };
      const now = `${seqSum}/${jobStateLeft}`;
      if (now !== progress) {
        progress = now;
        movedAt = Date.now();
      }
    } catch {
      // etcd briefly unreachable: poll again.
    }
    if (Date.now() - started > options.timeoutMs || Date.now() - movedAt > quietMs)
      return { done: false, missing, jobStateLeft, waitedMs: Date.now() - started };
    await sleep(100);
  }
}

/**
 * The fault tests' judge: the one history checker (test/helpers/history-check.ts), its counts
 * under the names the fault tests read. `problems` is empty when every invariant held.
 */
export function checkPipeline(events: readonly HistoryEvent[], options: CheckOptions): PipelineReport {
  const check = checkHistory(events, options);
  return {
    problems: check.problems,
    heatPuts: check.records,
    jobStatePuts: check.jobStatePuts,
    statePuts: check.statePuts,
    jobStateDeletes: check.jobStateDeletes,
    duplicateInputs: check.duplicateInputs,
    refs: check.keys,
    chains: check.chains,
  };
}

export interface PipelineReport {
  /** Every violation found, in words (at most 50); empty when every invariant held. */
  problems: string[];
  heatPuts: number;
  jobStatePuts: number;
  statePuts: number;
  jobStateDeletes: number;
  /** Heat stack revisions the writer made twice with one seq (a retried put). */
  duplicateInputs: number;
  refs: number;
  /** For each input that reached a state: heat stack revision → state revision. */
  chains: HistoryCheck['chains'];
}

/**
 * Every event of every key from `fromRevision` to the current revision: `history()` from a later
 * start (for a store whose older history was compacted away), and for stores too large for
 * `history()`, which spreads each etcd response (up to 1,000 revisions) into one call's arguments.
 * Here events are appended one by one. For a large store, give a client whose
 * `grpc.max_receive_message_length` is raised: asking etcd to fragment instead is far slower (etcd
 * sizes each fragment anew for every event it adds, quadratic in the fragment's length).
 */
export async function historyFrom(
  source: Etcd3 | string,
  fromRevision: number,
  timeoutMs = 30_000,
): Promise<HistoryEvent[]> {
  const client = typeof source === 'string' ? new Etcd3(testClientOptions(source)) : source;
  try {
    const target = Number((await client.get('\u0000').exec()).header.revision);
    if (target < fromRevision) return [];
    const stream = await client.watchClient.watch();
    try {
      return await new Promise<HistoryEvent[]>((resolve, reject) => {
        const events: HistoryEvent[] = [];
        const timer = setTimeout(
          () => reject(new Error(`historyFrom(): revision ${target} not reached within ${timeoutMs} ms`)),
          timeoutMs,
        );
        const finish = (error?: Error) => {
          clearTimeout(timer);
          if (error) reject(error);
          else resolve(events);
        };
        stream.on('error', (error) => finish(error));
        stream.on('data', (response: IWatchResponse) => {
          if (response.canceled) {
            finish(new Error(`historyFrom(): canceled (compact revision ${response.compact_revision})`));
            return;
          }
          for (const event of response.events) {
            events.push({
              key: event.kv.key.toString('utf8'),
              type: event.type === 'Put' ? 'put' : 'delete',
              value: event.kv.value.toString('utf8'),
              modRevision: Number(event.kv.mod_revision),
              createRevision: Number(event.kv.create_revision),
              version: Number(event.kv.version),
            });
          }
          // Events of one revision arrive in one (unfragmented) response.
          const last = response.events.at(-1);
          if (last !== undefined && Number(last.kv.mod_revision) >= target) finish();
        });
        stream.write({
          create_request: {
            key: Buffer.from([0]),
            range_end: Buffer.from([0]),
            start_revision: fromRevision,
          },
        });
      });
    } finally {
      stream.cancel();
    }
  } finally {
    if (client !== source) client.close();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
