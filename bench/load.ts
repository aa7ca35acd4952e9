/**
 * The load side of phases 2-5, run in a worker thread (load-worker.ts) so that writing the inputs
 * and watching for the state records never take the bridge's thread — as the Heat side and its
 * readers are other processes in production. Each run writes the config records, watches the state
 * records from the current revision, and then either streams the inputs as fast as etcd takes them
 * or paces them at a fixed rate.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Etcd3 } from 'etcd3';
import { headRevision } from '../bridge/etcd/head.js';
import { StateWatch } from './state-watch.js';
import { makeWorkload, writeConfigs, writeInputs } from './workload.js';

interface LoadBase {
  readonly etcdUrl: string;
  /** Names the workload's keys, so runs on one etcd never share keys. */
  readonly tag: string;
  readonly keys: number;
  readonly events: number;
  readonly firstSeq: number;
  /** Give up when no state record arrives for this long. */
  readonly stallMs: number;
}

export interface StreamLoad extends LoadBase {
  readonly kind: 'stream';
  /** Puts in flight. */
  readonly parallel: number;
}

export interface PacedLoad extends LoadBase {
  readonly kind: 'paced';
  /** Inputs a second, open loop. */
  readonly rate: number;
}

export type LoadRequest = StreamLoad | PacedLoad;

export interface StreamResult {
  readonly events: number;
  /** First put sent → last state record seen. */
  readonly durationMs: number;
  /** First put sent → last put acknowledged. */
  readonly writeMs: number;
}

export interface PacedResult {
  /** put sent → state record seen, ms, one per input in seq order. */
  readonly samplesMs: number[];
  /** put sent → job_state record (2) seen: the first stage alone, ms, in seq order. */
  readonly firstStageMs: number[];
  readonly achievedPerS: number;
  readonly durationMs: number;
}

export interface LoadHooks {
  /** Called once, just before the first input put: the measured window opens. */
  started?(): void;
  progress?(done: number, total: number): void;
}

export async function streamLoad(
  client: Etcd3,
  req: StreamLoad,
  hooks: LoadHooks = {},
): Promise<StreamResult> {
  const workload = makeWorkload(req.tag, req.keys, req.firstSeq);
  await writeConfigs(client, workload);
  const watch = await StateWatch.start(client, workload, (await headRevision(client)) + 1n);
  try {
    hooks.started?.();
    const started = performance.now();
    let writeMs = 0;
    let writeError: unknown;
    const writing = writeInputs(client, workload, 0, req.events, { parallel: req.parallel }).then(
      () => {
        writeMs = performance.now() - started;
      },
      (error: unknown) => {
        writeError = error;
      },
    );
    await watch.waitForCount(req.events, {
      stallMs: req.stallMs,
      check: () => {
        if (writeError) throw writeError;
      },
      onProgress: (count) => hooks.progress?.(count, req.events),
    });
    await writing;
    if (watch.count !== req.events)
      throw new Error(`expected ${req.events} state writes, saw ${watch.count}`);
    return { events: req.events, durationMs: watch.lastSeenAt - started, writeMs };
  } finally {
    watch.close();
  }
}

/**
 * Open loop: input i is put at start + i / rate whether or not earlier ones are done, so a slow
 * pipeline cannot slow the load down and hide its own latency. Latency runs from just before the
 * put is sent to when the watch sees the state record that carries its seq.
 */
export async function pacedLoad(client: Etcd3, req: PacedLoad, hooks: LoadHooks = {}): Promise<PacedResult> {
  const workload = makeWorkload(req.tag, req.keys, req.firstSeq);
  await writeConfigs(client, workload);
  const sentAt = new Float64Array(req.events);
  const latency = new Float64Array(req.events).fill(Number.NaN);
  const firstStage = new Float64Array(req.events).fill(Number.NaN);
  const jobWatch = await StateWatch.start(client, workload, (await headRevision(client)) + 1n, {
    record: 'jobState',
    onSeq: (seq, seenAt) => {
      const i = seq - req.firstSeq;
      if (i >= 0 && i < req.events && Number.isNaN(firstStage[i]!)) firstStage[i] = seenAt - sentAt[i]!;
    },
  });
  const watch = await StateWatch.start(client, workload, (await headRevision(client)) + 1n, {
    onSeq: (seq, seenAt) => {
      const i = seq - req.firstSeq;
      if (i >= 0 && i < req.events && Number.isNaN(latency[i]!)) latency[i] = seenAt - sentAt[i]!;
    },
  });
  try {
    const interval = 1000 / req.rate;
    const puts: Promise<unknown>[] = [];
    hooks.started?.();
    const started = performance.now();
    for (let i = 0; i < req.events; i++) {
      const wait = started + i * interval - performance.now();
      if (wait >= 1) await sleep(wait);
      const input = workload.record(i);
      sentAt[i] = performance.now();
      puts.push(client.put(input.key).value(input.value).exec());
      if (i % 100 === 0) hooks.progress?.(watch.count, req.events);
    }
    const sendMs = performance.now() - started;
    await Promise.all(puts);
    await watch.waitForCount(req.events, {
      stallMs: req.stallMs,
      onProgress: (count) => hooks.progress?.(count, req.events),
    });
    const samplesMs = Array.from(latency);
    const missing = samplesMs.filter((v) => Number.isNaN(v)).length;
    if (missing > 0) throw new Error(`${missing} inputs have no state record carrying their seq`);
    return {
      samplesMs,
      firstStageMs: Array.from(firstStage),
      achievedPerS: ((req.events - 1) * 1000) / Math.max(1, sendMs),
      durationMs: watch.lastSeenAt - started,
    };
  } finally {
    watch.close();
    jobWatch.close();
  }
}
