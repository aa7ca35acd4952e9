/**
 * Phases 2 to 8: a pipeline (this bridge in-process, this bridge over the local Lambda endpoint —
 * with or without a Lambda-like delay per invoke —, the ideal client, or the naive baseline) against
 * a fresh etcd, on this thread; the load (inputs and the watch on the state records) in a worker
 * thread; a warm-up on keys of its own; then a measured run whose clock starts at the first input
 * put and stops when the last state record (3) is seen.
 */
import { randomUUID } from 'node:crypto';
import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { Bridge } from '../bridge/bridge.js';
import { parseBridgeConfig } from '../bridge/config.js';
import { createEtcdClient } from '../bridge/etcd/client.js';
import { EmbeddedEtcd } from '../bridge/etcd/embedded-etcd.js';
import { headRevision } from '../bridge/etcd/head.js';
import { InProcessInvoker } from '../bridge/invoke/in-process.js';
import { inProcessHost } from '../bridge/lambda-endpoint/function-host.js';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  type LambdaEndpoint,
  startLambdaEndpoint,
} from '../bridge/lambda-endpoint/server.js';
import { stageFunctions } from '../bridge/lambda-endpoint/stage-functions.js';
import { DEFAULT_ROUTES, type RouteInput } from '../shared/index.js';
import { EtcdCluster } from '../test/helpers/etcd-cluster.js';
import { type CpuShare, startCpuMeter } from './cpu.js';
import { type FsyncTally, fsyncsBetween, readFsyncHistogram } from './fsync.js';
import { IdealClient } from './ideal/client.js';
import { FloorClient } from './ideal/floor.js';
import { IdealOutputs, type WorkloadSpec } from './ideal/outputs.js';
import { delayedHost } from './invoke-delay.js';
import type { LoadRequest, PacedResult, StreamResult } from './load.js';
import type { LoadMessage } from './load-worker.js';
import { NaiveBridge } from './naive.js';
import { type BridgeProbe, type ProbeReport, probeBridge } from './probe.js';
import { ratePerSecond } from './stats.js';
import { typeScriptWorker } from './ts-worker.js';

export type PipelineKind = 'bridge-inprocess' | 'bridge-http' | 'ideal' | 'floor' | 'floor-fused' | 'naive';

export interface PipelineOptions {
  /** bridge-http: added before each invocation behind the endpoint (a Lambda-like latency). */
  readonly invokeDelayMs?: number;
  /** ideal: transactions in flight at once. */
  readonly idealTransactions?: number;
  /** Bridges: batching settings for both default routes in place of their defaults (experiments). */
  readonly routeSettings?: Partial<Pick<RouteInput, 'batchSize' | 'concurrency' | 'batchWindowMs'>>;
  /** Bridges: the config's `handOff` in place of its default (bench/hand-off.ts compares both). */
  readonly handOff?: boolean;
  /**
   * Bridges: etcd members (default 1). With more, a loopback cluster (test/helpers/etcd-cluster.ts):
   * the load writes to and watches the leader; the bridge gets every member, as in production (each
   * watch on one chosen at random, the unary calls spread over all three by etcd3's pool), so most
   * of its watches sit on a follower and most of its commits are forwarded to the leader.
   */
  readonly members?: number;
}

/** The ideal client's default: two transactions (each with its reads) in flight. */
export const DEFAULT_IDEAL_TRANSACTIONS = 2;

export interface Pipeline {
  readonly kind: PipelineKind;
  readonly client: Etcd3;
  readonly etcd: EmbeddedEtcd;
  readonly bridge?: Bridge;
  readonly ideal?: IdealClient;
  /** The client whose transactions the probe times (the bridge's or the ideal client's). */
  readonly txnClient?: Etcd3;
  /** Called before each load, with what the load will write (the ideal client precomputes for it). */
  prepare?(workload: WorkloadSpec): void;
  /** Throws if the pipeline has died. */
  check(): void;
  close(): Promise<void>;
}

/** A fresh etcd (temporary data dir, free ports) and the pipeline on it, idle and watching. */
export async function startPipeline(
  kind: PipelineKind,
  etcdArgs: readonly string[] = [],
  options: PipelineOptions = {},
): Promise<Pipeline> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const members = options.members ?? 1;
    let etcd: EmbeddedEtcd;
    let bridgeEndpoints: string[];
    if (members > 1) {
      if (!kind.startsWith('bridge-')) throw new Error(`${kind}: runs on one etcd member only`);
      const cluster = await EtcdCluster.start({ size: members, extraArgs: [...etcdArgs] });
      cleanups.push(() => cluster.stop());
      const leader = await cluster.leader();
      etcd = cluster.members[leader]!.etcd;
      bridgeEndpoints = cluster.endpoints;
    } else {
      etcd = await EmbeddedEtcd.start({ extraArgs: [...etcdArgs] });
      cleanups.push(() => etcd.stop());
      bridgeEndpoints = [etcd.clientUrl];
    }
    const client = new Etcd3({ hosts: etcd.clientUrl });
    cleanups.push(() => client.close());

    if (kind === 'naive') {
      const naive = await NaiveBridge.start(
        client,
        new InProcessInvoker(),
        (await headRevision(client)) + 1n,
      );
      cleanups.push(() => naive.stop());
      return { kind, client, etcd, check: () => naive.check(), close };
    }

    if (kind === 'ideal' || kind === 'floor' || kind === 'floor-fused') {
      // A client of its own, made as the bridge makes its client (a gRPC channel, stream connections).
      const ownClient = createEtcdClient(parseBridgeConfig({ etcd: { endpoints: [etcd.clientUrl] } }).etcd);
      cleanups.push(() => ownClient.close());
      const outputs = new IdealOutputs();
      const fromRevision = (await headRevision(client)) + 1n;
      const ideal =
        kind === 'ideal'
          ? await IdealClient.start(ownClient, outputs, {
              group: `bench-${randomUUID().slice(0, 8)}`,
              fromRevision,
              transactionsInFlight: options.idealTransactions ?? DEFAULT_IDEAL_TRANSACTIONS,
            })
          : undefined;
      const runner = ideal ?? FloorClient.start(ownClient, outputs, fromRevision, kind === 'floor-fused');
      cleanups.push(() => runner.stop());
      const reads = IdealClient.jobStateReads();
      return {
        kind,
        client,
        etcd,
        ...(ideal ? { ideal } : {}),
        txnClient: ownClient,
        prepare: (workload) => outputs.add(workload, reads),
        check: () => runner.check(),
        close,
      };
    }

    let endpoint: LambdaEndpoint | undefined;
    if (kind === 'bridge-http') {
      const host = inProcessHost(await stageFunctions(), DEFAULT_MAX_PAYLOAD_BYTES);
      endpoint = await startLambdaEndpoint({
        functionHost: options.invokeDelayMs ? delayedHost(host, options.invokeDelayMs) : host,
        port: 0,
        log: () => {},
      });
      const server = endpoint;
      cleanups.push(() => server.close());
    }
    const config = parseBridgeConfig({
      etcd: { endpoints: bridgeEndpoints },
      group: `bench-${randomUUID().slice(0, 8)}`,
      invoke: endpoint ? { mode: 'lambda', endpoint: endpoint.url } : { mode: 'inprocess' },
      observability: { port: 0 },
      ...(options.handOff !== undefined ? { handOff: options.handOff } : {}),
      ...(options.routeSettings
        ? { routes: DEFAULT_ROUTES.map((route) => ({ ...route, ...options.routeSettings })) }
        : {}),
    });
    // The bridge gets a client (a gRPC channel) of its own, as it would in production.
    const bridge = await Bridge.start(config);
    cleanups.push(() => bridge.stop());
    return {
      kind,
      client,
      etcd,
      bridge,
      txnClient: bridge.client,
      check: () => {
        if (bridge.fatal) throw bridge.fatal;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** CPU over a measured window, with the share of it the bridge's own thread was busy. */
export interface WindowCpu extends CpuShare {
  /** Event-loop utilization of this (the bridge's) thread: 1 = never idle. */
  readonly bridgeThread: number;
}

export interface RunResult extends StreamResult {
  readonly eventsPerS: number;
  /** The bridge's etcd transactions over the window (bridges only). */
  readonly probe?: ProbeReport;
  /** CPU use over the measured window; undefined off Linux. */
  readonly cpu: WindowCpu | undefined;
}

export interface LatencyResult extends PacedResult {
  readonly offeredPerS: number;
  /** etcd's WAL fsyncs over the measured load (undefined if its /metrics did not answer). */
  readonly fsyncs?: FsyncTally;
  readonly probe?: ProbeReport;
  readonly cpu: WindowCpu | undefined;
}

/**
 * Runs one load in a worker thread against a running pipeline; the CPU window opens when the worker
 * sends its first input. Throws what killed the pipeline, if something did, or the load's error.
 */
async function runLoad<R>(
  pipeline: Pipeline,
  request: LoadRequest,
  onProgress?: (done: number, total: number) => void,
): Promise<{ result: R; cpu: WindowCpu | undefined; probe?: ProbeReport }> {
  const worker = typeScriptWorker(new URL('./load-worker.ts', import.meta.url), { workerData: request });
  let meter: ReturnType<typeof startCpuMeter> | undefined;
  let elu: EventLoopUtilization | undefined;
  let cpu: WindowCpu | undefined;
  let probe: BridgeProbe | undefined;
  let report: ProbeReport | undefined;
  let checker: NodeJS.Timeout | undefined;
  try {
    const result = await new Promise<R>((resolve, reject) => {
      checker = setInterval(() => {
        try {
          pipeline.check();
        } catch (error) {
          reject(error);
        }
      }, 100);
      worker.on('message', (message: LoadMessage) => {
        if (message.type === 'started') {
          meter = startCpuMeter({ etcd: pipeline.etcd.pid });
          elu = performance.eventLoopUtilization();
          if (pipeline.txnClient) probe = probeBridge(pipeline.txnClient);
        } else if (message.type === 'progress') onProgress?.(message.done, message.total);
        else if (message.type === 'result') {
          const share = meter?.stop();
          const busy = elu ? performance.eventLoopUtilization(elu).utilization : 0;
          cpu = share ? { ...share, bridgeThread: busy } : undefined;
          report = probe?.stop();
          probe = undefined;
          resolve(message.result as R);
        } else reject(new Error(`${pipeline.kind}: ${message.message}`));
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`load worker exited with code ${code}`)));
    });
    return { result, cpu, ...(report ? { probe: report } : {}) };
  } finally {
    probe?.stop();
    clearInterval(checker);
    await worker.terminate();
  }
}

const STALL_MS = 30_000;

/**
 * Streams `events` inputs (one put a record, 32 in flight, as fast as etcd takes them) into the
 * running pipeline and waits for every state record.
 */
export async function runWorkload(
  pipeline: Pipeline,
  workload: { tag: string; keys: number; firstSeq?: number },
  events: number,
  onProgress?: (done: number, total: number) => void,
): Promise<RunResult> {
  const firstSeq = workload.firstSeq ?? 1;
  pipeline.prepare?.({ tag: workload.tag, keys: workload.keys, firstSeq, events });
  const { result, cpu, probe } = await runLoad<StreamResult>(
    pipeline,
    {
      kind: 'stream',
      etcdUrl: pipeline.etcd.clientUrl,
      tag: workload.tag,
      keys: workload.keys,
      events,
      firstSeq,
      stallMs: STALL_MS,
      parallel: 32,
    },
    onProgress,
  );
  return {
    ...result,
    eventsPerS: ratePerSecond(result.events, result.durationMs),
    cpu,
    ...(probe ? { probe } : {}),
  };
}

/** Warms the pipeline (modules loaded, JIT, connections) on keys the measured run never touches. */
export async function warmUp(pipeline: Pipeline, events: number, keys: number): Promise<void> {
  await runWorkload(pipeline, { tag: 'warm', keys, firstSeq: 1_000_000_000 }, events);
}

/** Fixed offered load, open loop (see pacedLoad). */
export async function measureLatency(
  pipeline: Pipeline,
  options: { events: number; rate: number; keys: number; onProgress?: (done: number, total: number) => void },
): Promise<LatencyResult> {
  pipeline.prepare?.({ tag: 'lat', keys: options.keys, firstSeq: 1, events: options.events });
  const fsyncsBefore = await readFsyncHistogram(pipeline.etcd.clientUrl);
  const { result, cpu, probe } = await runLoad<PacedResult>(
    pipeline,
    {
      kind: 'paced',
      etcdUrl: pipeline.etcd.clientUrl,
      tag: 'lat',
      keys: options.keys,
      events: options.events,
      firstSeq: 1,
      stallMs: STALL_MS,
      rate: options.rate,
    },
    options.onProgress,
  );
  const fsyncsAfter = await readFsyncHistogram(pipeline.etcd.clientUrl);
  const fsyncs = fsyncsBefore && fsyncsAfter ? fsyncsBetween(fsyncsBefore, fsyncsAfter) : undefined;
  return {
    ...result,
    offeredPerS: options.rate,
    cpu,
    ...(probe ? { probe } : {}),
    ...(fsyncs ? { fsyncs } : {}),
  };
}
