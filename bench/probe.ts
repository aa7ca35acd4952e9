/**
 * A diagnostic on a running bridge, from outside its code: wraps its etcd client's `kv.txn` (every
 * snapshot read and every group commit goes through it) and times the calls, so the bench can say
 * how busy the committer — one transaction in flight at a time — kept itself, and how long its
 * transactions and the snapshot reads took as the bridge saw them (etcd's time plus waiting for
 * this thread). Reads are transactions of ranges only; commits write.
 */
import type { Etcd3, IRequestOp } from 'etcd3';
import { percentile } from './stats.js';

export interface TxnTimes {
  readonly count: number;
  readonly meanMs: number;
  readonly p99Ms: number;
}

export interface ProbeReport {
  readonly commits: TxnTimes;
  readonly reads: TxnTimes;
  /** Share of the window with a commit transaction in flight. */
  readonly committerBusy: number;
}

function times(samples: number[]): TxnTimes {
  if (samples.length === 0) return { count: 0, meanMs: 0, p99Ms: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: samples.length,
    meanMs: samples.reduce((a, b) => a + b, 0) / samples.length,
    p99Ms: percentile(sorted, 99),
  };
}

const writes = (ops: readonly IRequestOp[] | undefined) =>
  (ops ?? []).some((op) => op.request_put || op.request_delete_range || op.request_txn);

export interface BridgeProbe {
  stop(): ProbeReport;
}

export function probeBridge(client: Etcd3): BridgeProbe {
  const kv = client.kv;
  const original = kv.txn;
  const commits: number[] = [];
  const reads: number[] = [];
  let inFlight = 0;
  let busySince = 0;
  let busyMs = 0;
  const started = performance.now();
  kv.txn = (async (request, ...rest) => {
    const commit = writes(request.success);
    const t0 = performance.now();
    if (commit && inFlight++ === 0) busySince = t0;
    try {
      return await original.call(kv, request, ...rest);
    } finally {
      const t1 = performance.now();
      (commit ? commits : reads).push(t1 - t0);
      if (commit && --inFlight === 0) busyMs += t1 - busySince;
    }
  }) as typeof kv.txn;
  return {
    stop() {
      kv.txn = original;
      const now = performance.now();
      if (inFlight > 0) busyMs += now - busySince;
      return { commits: times(commits), reads: times(reads), committerBusy: busyMs / (now - started) };
    },
  };
}
