/**
 * Phase 1, etcd's ceiling on this machine: transactions of 128 puts, a few in flight at once, as
 * fast as etcd commits them. This is the most puts a second any writer of ours could get.
 */
import type { Etcd3, IRequestOp } from 'etcd3';
import { MAX_TXN_OPS, op } from '../bridge/etcd/ops.js';
import { type CpuShare, startCpuMeter } from './cpu.js';
import { ratePerSecond } from './stats.js';
import { heatStackValue } from './workload.js';

export interface CeilingOptions {
  /** Puts in all (rounded up to whole transactions). */
  readonly puts: number;
  /** Transactions in flight at once. */
  readonly parallel: number;
  readonly keys: number;
  /** For the CPU figures. */
  readonly etcdPid?: number | undefined;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface CeilingResult {
  readonly putsPerS: number;
  readonly puts: number;
  readonly durationMs: number;
  readonly valueBytes: number;
  readonly parallel: number;
  readonly cpu: CpuShare | undefined;
}

export async function measureCeiling(client: Etcd3, options: CeilingOptions): Promise<CeilingResult> {
  // Values the size of a heat stack record, the largest of the pipeline's three records.
  const value = heatStackValue(123456, 'vnf_instances/ceiling-0', 'UPDATE_COMPLETE');
  const txns = Math.ceil(options.puts / MAX_TXN_OPS);
  // Built once and reused, so the measured loop spends no time making requests.
  const keySets = Math.max(1, Math.ceil(options.keys / MAX_TXN_OPS));
  const prebuilt: IRequestOp[][] = Array.from({ length: keySets }, (_, t) =>
    Array.from({ length: MAX_TXN_OPS }, (_, j) => op.put(`/bench/ceiling/${t * MAX_TXN_OPS + j}`, value)),
  );
  const build = (t: number): IRequestOp[] => prebuilt[t % keySets]!;
  // Warm the connection and etcd's write path first.
  await client.kv.txn({ compare: [], success: build(0), failure: [] });

  let next = 0;
  let done = 0;
  const meter = startCpuMeter({ etcd: options.etcdPid });
  const started = performance.now();
  const worker = async () => {
    while (next < txns) {
      const t = next++;
      await client.kv.txn({ compare: [], success: build(t), failure: [] });
      done++;
      options.onProgress?.(done * MAX_TXN_OPS, txns * MAX_TXN_OPS);
    }
  };
  await Promise.all(Array.from({ length: options.parallel }, worker));
  const durationMs = performance.now() - started;
  const cpu = meter.stop();
  const puts = txns * MAX_TXN_OPS;
  return {
    putsPerS: ratePerSecond(puts, durationMs),
    puts,
    durationMs,
    valueBytes: Buffer.byteLength(value),
    parallel: options.parallel,
    cpu,
  };
}
