/**
 * `npm run bench`, the measurements in order, each on a fresh etcd (temporary data dir, free
 * ports) so no phase inherits another's data, compaction state or page cache pressure:
 *
 *   1. etcd's ceiling: transactions of 128 puts, 4 in flight;
 *   2. the ideal client (bench/ideal/): the pipeline's etcd work alone;  } inputs streamed from a
 *   3. the naive bridge (bench/naive.ts), on fewer events;               } worker thread: one put
 *   4. this bridge in-process;                                           } a record, 32 in flight,
 *   5. this bridge over the local endpoint;                              } while the pipeline runs;
 *   6. the same with a Lambda-like latency (20 ms) added to each invoke; } clock from the first put
 *                                                                          to the last state record
 *   7. latency at a fixed offered load, this bridge in-process, open loop;
 *   8. the same load on the ideal client;
 *   9. peak RSS of `etcd-bridge start` in a child process draining a backlog written beforehand.
 *
 * `phases` runs a subset (`--phases backlog`), in this order whatever order it names them in.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { EmbeddedEtcd } from '../bridge/etcd/embedded-etcd.js';
import { type BacklogResult, measureBacklog } from './backlog.js';
import { type CeilingResult, measureCeiling } from './ceiling.js';
import { waitForQuiet } from './cpu.js';
import { LAMBDA_LIKE_DELAY_MS } from './invoke-delay.js';
import {
  DEFAULT_IDEAL_TRANSACTIONS,
  type LatencyResult,
  measureLatency,
  type Pipeline,
  type PipelineKind,
  type PipelineOptions,
  type RunResult,
  runWorkload,
  startPipeline,
  warmUp,
} from './pipeline.js';
import {
  type CpuProfile,
  type ProfileSummary,
  saveProfile,
  startInProcessProfile,
  summarizeProfile,
} from './profile.js';
import { type LatencySummary, summarizeLatencies } from './stats.js';

/** The phases by name, in the order they run (`--phases` takes these names). */
export const BENCH_PHASES = [
  'ceiling',
  'ideal',
  'naive',
  'inprocess',
  'http',
  'lambda-like',
  'latency',
  'ideal-latency',
  'backlog',
  'floor-latency',
] as const;
export type BenchPhase = (typeof BENCH_PHASES)[number];

export interface BenchOptions {
  /** The phases to run (default: all ten). */
  readonly phases: ReadonlySet<BenchPhase>;
  /** Events of the in-process and HTTP runs (default 20,000). */
  readonly events: number;
  /** Keys the events are spread over (default 1,000). */
  readonly keys: number;
  /** Events of the naive run (default 2,000: it is slow). */
  readonly naiveEvents: number;
  readonly latencyEvents: number;
  /** Offered load of the latency phase, events/s (default 500). */
  readonly rate: number;
  readonly backlogEvents: number;
  readonly ceilingPuts: number;
  /** The ideal client's transactions in flight (each with its snapshot reads). */
  readonly idealTransactions: number;
  /** Added to every invocation of the Lambda-like phase, ms. */
  readonly invokeDelayMs: number;
  /** Extra flags for every etcd the bench starts (none by default: etcd as shipped). */
  readonly etcdArgs: readonly string[];
  /** The backlog child's Node/V8 flags instead of the bridge's own (see BacklogOptions.nodeFlags). */
  readonly bridgeNodeFlags?: readonly string[];
  /** Write CPU profiles here (an extra profiled in-process run; the backlog child under --cpu-prof). */
  readonly profileDir?: string;
  /** Before each phase, wait up to this many seconds for the machine's other processes to go quiet. */
  readonly waitQuietS?: number;
  readonly progress?: (label: string) => { update(done: number, total: number): void; done(): void };
}

export const DEFAULT_BENCH_OPTIONS: BenchOptions = {
  phases: new Set(BENCH_PHASES),
  events: 20_000,
  keys: 1_000,
  naiveEvents: 2_000,
  latencyEvents: 5_000,
  rate: 500,
  backlogEvents: 100_000,
  ceilingPuts: 128 * 800,
  idealTransactions: DEFAULT_IDEAL_TRANSACTIONS,
  invokeDelayMs: LAMBDA_LIKE_DELAY_MS,
  etcdArgs: [],
};

export interface PipelineRun extends RunResult {
  /** Bridge and ideal client: records per commit transaction, over both routes. */
  readonly recordsPerTxn?: number;
  /** Bridge only. */
  readonly deadLettered?: number;
  readonly retries?: number;
}

export interface LatencyRun extends LatencyResult {
  readonly summary: LatencySummary;
  /** Heat stack put → job_state record seen: stage heat-stacks alone. */
  readonly firstStage: LatencySummary | undefined;
}

/** Each phase's result; undefined when it was not run. */
export interface BenchResult {
  readonly ceiling: CeilingResult | undefined;
  readonly ideal: PipelineRun | undefined;
  readonly naive: PipelineRun | undefined;
  readonly e2e: PipelineRun | undefined;
  readonly http: PipelineRun | undefined;
  /** Over HTTP with `invokeDelayMs` added to every invocation. */
  readonly lambdaLike: PipelineRun | undefined;
  readonly latency: LatencyRun | undefined;
  /** The ideal client at the same offered load. */
  readonly idealLatency: LatencyRun | undefined;
  readonly backlog: BacklogResult | undefined;
  /** The floor client (bench/ideal/floor.ts) at the same offered load. */
  readonly floorLatency: LatencyRun | undefined;
  readonly profiles: ReadonlyArray<{ title: string; path: string; summary: ProfileSummary }>;
}

const WARMUP_KEYS = 100;

type Progress = NonNullable<BenchOptions['progress']>;
const noProgress: Progress = () => ({ update: () => {}, done: () => {} });

async function withPipeline<T>(
  kind: PipelineKind,
  etcdArgs: readonly string[],
  body: (pipeline: Pipeline) => Promise<T>,
  options: PipelineOptions = {},
): Promise<T> {
  const pipeline = await startPipeline(kind, etcdArgs, options);
  try {
    return await body(pipeline);
  } finally {
    await pipeline.close();
  }
}

/**
 * A measured run, with the counters over that run only: a bridge's committer and routes, or the
 * ideal client's transactions.
 */
async function measuredRun(pipeline: Pipeline, measure: () => Promise<RunResult>): Promise<PipelineRun> {
  const ideal = pipeline.ideal;
  if (ideal) {
    const before = { ...ideal.stats };
    const run = await measure();
    const transactions = ideal.stats.transactions - before.transactions;
    return {
      ...run,
      recordsPerTxn: transactions > 0 ? (ideal.stats.records - before.records) / transactions : 0,
    };
  }
  const bridge = pipeline.bridge;
  if (!bridge) return measure();
  const counters = () => {
    const routes = bridge.status();
    return {
      transactions: bridge.committer.stats.transactions,
      records: bridge.committer.stats.records,
      deadLettered: routes.reduce((sum, r) => sum + r.stats.deadLettered, 0),
      retries: routes.reduce((sum, r) => sum + r.stats.retries, 0),
    };
  };
  const before = counters();
  const run = await measure();
  const after = counters();
  const transactions = after.transactions - before.transactions;
  return {
    ...run,
    recordsPerTxn: transactions > 0 ? (after.records - before.records) / transactions : 0,
    deadLettered: after.deadLettered - before.deadLettered,
    retries: after.retries - before.retries,
  };
}

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const progress = options.progress ?? noProgress;
  /** Runs the phase if it was asked for: "n/9 label" on the progress bar. */
  const bar = async <T>(
    phase: BenchPhase,
    label: string,
    body: (update: (done: number, total: number) => void) => Promise<T>,
  ): Promise<T | undefined> => {
    if (!options.phases.has(phase)) return undefined;
    if (options.waitQuietS) await waitForQuiet(options.waitQuietS);
    const b = progress(`${BENCH_PHASES.indexOf(phase) + 1}/${BENCH_PHASES.length} ${label}`);
    return body((done, total) => b.update(done, total)).finally(() => b.done());
  };

  const ceiling = await bar('ceiling', 'etcd ceiling', async (update) => {
    const etcd = await EmbeddedEtcd.start({ extraArgs: [...options.etcdArgs] });
    const client = new Etcd3({ hosts: etcd.clientUrl });
    try {
      return await measureCeiling(client, {
        puts: options.ceilingPuts,
        parallel: 4,
        keys: options.keys,
        etcdPid: etcd.pid,
        onProgress: update,
      });
    } finally {
      client.close();
      await etcd.stop();
    }
  });

  const ideal = await bar('ideal', 'ideal client', (update) =>
    withPipeline(
      'ideal',
      options.etcdArgs,
      async (pipeline) => {
        await warmUp(pipeline, 1_000, WARMUP_KEYS);
        return measuredRun(pipeline, () =>
          runWorkload(pipeline, { tag: 'run', keys: options.keys }, options.events, update),
        );
      },
      { idealTransactions: options.idealTransactions },
    ),
  );

  const naive = await bar('naive', 'naive bridge', (update) =>
    withPipeline('naive', options.etcdArgs, async (pipeline) => {
      await warmUp(pipeline, Math.min(200, options.naiveEvents), WARMUP_KEYS);
      return runWorkload(pipeline, { tag: 'naive', keys: options.keys }, options.naiveEvents, update);
    }),
  );

  const profiles: Array<{ title: string; path: string; summary: ProfileSummary }> = [];
  const e2e = await bar('inprocess', 'bridge in-process', (update) =>
    withPipeline('bridge-inprocess', options.etcdArgs, async (pipeline) => {
      await warmUp(pipeline, 1_000, WARMUP_KEYS);
      const run = await measuredRun(pipeline, () =>
        runWorkload(pipeline, { tag: 'run', keys: options.keys }, options.events, update),
      );
      if (options.profileDir) {
        // A second run under the profiler, so the profiler's cost never touches the figure above.
        await mkdir(options.profileDir, { recursive: true });
        const stop = await startInProcessProfile();
        let profile: CpuProfile;
        try {
          await runWorkload(pipeline, { tag: 'prof', keys: options.keys }, options.events, update);
        } finally {
          profile = await stop();
        }
        const path = join(options.profileDir, 'bench-e2e-inprocess.cpuprofile');
        await saveProfile(path, profile);
        profiles.push({
          title: `bridge in-process, ${options.events} events streamed (main thread = the bridge; load and watch run in a worker)`,
          path,
          summary: summarizeProfile(profile, 20),
        });
      }
      return run;
    }),
  );

  const overHttp = (pipelineOptions: PipelineOptions) => (update: (done: number, total: number) => void) =>
    withPipeline(
      'bridge-http',
      options.etcdArgs,
      async (pipeline) => {
        await warmUp(pipeline, 1_000, WARMUP_KEYS);
        return measuredRun(pipeline, () =>
          runWorkload(pipeline, { tag: 'run', keys: options.keys }, options.events, update),
        );
      },
      pipelineOptions,
    );
  const http = await bar('http', 'bridge over HTTP', overHttp({}));
  const lambdaLike = await bar(
    'lambda-like',
    `bridge over HTTP, +${options.invokeDelayMs} ms an invoke`,
    overHttp({ invokeDelayMs: options.invokeDelayMs }),
  );

  const latencyOf =
    (kind: PipelineKind, pipelineOptions: PipelineOptions) =>
    (update: (done: number, total: number) => void) =>
      withPipeline(
        kind,
        options.etcdArgs,
        async (pipeline): Promise<LatencyRun> => {
          await warmUp(pipeline, 1_000, WARMUP_KEYS);
          const result = await measureLatency(pipeline, {
            events: options.latencyEvents,
            rate: options.rate,
            keys: options.keys,
            onProgress: update,
          });
          const firstStage = result.firstStageMs.filter((ms) => Number.isFinite(ms));
          return {
            ...result,
            summary: summarizeLatencies(result.samplesMs),
            firstStage: firstStage.length > 0 ? summarizeLatencies(firstStage) : undefined,
          };
        },
        pipelineOptions,
      );
  const latency = await bar('latency', `latency at ${options.rate}/s`, latencyOf('bridge-inprocess', {}));
  const idealLatency = await bar(
    'ideal-latency',
    `ideal client at ${options.rate}/s`,
    latencyOf('ideal', { idealTransactions: options.idealTransactions }),
  );

  const backlog = await bar('backlog', 'backlog, child bridge', async (update) => {
    const result = await measureBacklog({
      events: options.backlogEvents,
      keys: options.keys,
      etcdArgs: options.etcdArgs,
      ...(options.bridgeNodeFlags !== undefined ? { nodeFlags: options.bridgeNodeFlags } : {}),
      ...(options.profileDir ? { cpuProfDir: options.profileDir } : {}),
      onProgress: (_phase, done, total) => update(done, total),
    });
    return result;
  });
  if (options.profileDir && backlog) {
    const path = join(options.profileDir, 'bench-backlog-bridge.cpuprofile');
    const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
    profiles.push({
      title: `child bridge (etcd-bridge start) draining a ${options.backlogEvents}-record backlog`,
      path,
      summary: summarizeProfile(profile, 20),
    });
  }

  const floorLatency = await bar(
    'floor-latency',
    `floor client at ${options.rate}/s`,
    latencyOf('floor', {}),
  );

  return {
    ceiling,
    ideal,
    naive,
    e2e,
    http,
    lambdaLike,
    latency,
    idealLatency,
    backlog,
    floorLatency,
    profiles,
  };
}
