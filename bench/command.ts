/**
 * `npm run bench`: how fast the pipeline runs on this machine, against its own etcd, and what
 * bounds it. Prints a table; `--json` adds the summary as the last stdout line; the latency
 * distribution goes to an SVG file. Progress on a terminal only. Not part of `npm test`.
 */
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { progressBar } from '../bridge/cli/progress.js';
import type { CpuShare } from './cpu.js';
import type { ProbeReport } from './probe.js';
import { formatProfileSummary } from './profile.js';
import { benchJson, checkTargets, formatRate, formatTable } from './report.js';
import { type BenchOptions, type BenchResult, DEFAULT_BENCH_OPTIONS, runBench } from './run.js';
import { latencyChartSvg } from './svg.js';

export const BENCH_USAGE =
  'npm run bench -- [--events N] [--keys N] [--naive-events N] [--latency-events N] [--rate N] [--backlog N] [--ideal-txns N] [--invoke-delay MS] [--wait-quiet S] [--svg PATH] [--profile DIR] [--json]';

/** A bad command line: the message names the flag; the bench exits 2. */
export class BenchUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchUsageError';
  }
}

function wholeNumber(flag: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new BenchUsageError(`bench: --${flag} must be a whole number >= ${min}, got ${text}`);
  }
  return value;
}

function parseBenchArgs<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new BenchUsageError(`bench: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export async function benchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseBenchArgs(args, {
    events: { type: 'string' },
    keys: { type: 'string' },
    'naive-events': { type: 'string' },
    'latency-events': { type: 'string' },
    rate: { type: 'string' },
    backlog: { type: 'string' },
    'ideal-txns': { type: 'string' },
    'invoke-delay': { type: 'string' },
    'wait-quiet': { type: 'string' },
    svg: { type: 'string', default: 'bench-latency.svg' },
    profile: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (positionals.length > 0) throw new BenchUsageError(`bench: unexpected argument ${positionals[0]}`);
  const d = DEFAULT_BENCH_OPTIONS;
  const options: BenchOptions = {
    ...d,
    events: wholeNumber('events', values.events, d.events),
    keys: wholeNumber('keys', values.keys, d.keys, 128),
    naiveEvents: wholeNumber('naive-events', values['naive-events'], d.naiveEvents),
    latencyEvents: wholeNumber('latency-events', values['latency-events'], d.latencyEvents),
    rate: wholeNumber('rate', values.rate, d.rate),
    backlogEvents: wholeNumber('backlog', values.backlog, d.backlogEvents),
    idealTransactions: wholeNumber('ideal-txns', values['ideal-txns'], d.idealTransactions),
    invokeDelayMs: wholeNumber('invoke-delay', values['invoke-delay'], d.invokeDelayMs, 0),
    ...(values['wait-quiet'] !== undefined
      ? { waitQuietS: wholeNumber('wait-quiet', values['wait-quiet'], 0, 0) }
      : {}),
    ...(values.profile ? { profileDir: resolve(values.profile) } : {}),
    progress: (label) => progressBar(label),
  };
  const svgPath = resolve(values.svg);

  const result = await runBench(options);
  const summary = benchJson({
    etcdCeilingPutsPerS: result.ceiling.putsPerS,
    naiveEventsPerS: result.naive.eventsPerS,
    e2eEventsPerS: result.e2e.eventsPerS,
    e2eHttpEventsPerS: result.http.eventsPerS,
    lambdaLikeEventsPerS: result.lambdaLike.eventsPerS,
    idealEventsPerS: result.ideal.eventsPerS,
    idealP99Ms: result.idealLatency.summary.p99,
    p50Ms: result.latency.summary.p50,
    p95Ms: result.latency.summary.p95,
    p99Ms: result.latency.summary.p99,
    peakRssMb: result.backlog.peakRssMb,
  });
  await writeFile(
    svgPath,
    latencyChartSvg(result.latency.samplesMs, {
      title: `etcd-bridge: heat stack put → state record written, ${options.rate} events/s offered, in-process`,
    }),
  );

  const out = process.stdout;
  out.write(`${report(options, result)}\n\n`);
  const targets = checkTargets(summary, `${options.rate} events/s`);
  out.write(
    `${formatTable([
      ['target', 'wanted', 'measured', ''],
      ...targets.map((t) => [t.name, t.target, t.actual, t.met ? 'met' : 'NOT MET']),
    ])}\n` +
      `ceiling ratio (in-process × 3 / etcd ceiling): ${summary.ceiling_ratio.toFixed(3)} — a figure, not a target\n\n`,
  );
  for (const profile of result.profiles) {
    out.write(
      `${formatProfileSummary(`CPU profile: ${profile.title}`, profile.summary)}\n  (${profile.path})\n\n`,
    );
  }
  out.write(`latency chart: ${svgPath}\n`);
  if (values.json) out.write(`${JSON.stringify(summary)}\n`);
  return 0;
}

/** "bench 0.97 (bridge thread 88%) · etcd 0.52 · other 0.01": cores, averaged over the phase. */
export function formatCpu(cpu: (CpuShare & { bridgeThread?: number }) | undefined): string {
  if (!cpu) return 'n/a';
  const thread =
    cpu.bridgeThread === undefined ? '' : ` (bridge thread ${Math.round(cpu.bridgeThread * 100)}%)`;
  const parts = [`bench ${cpu.self.toFixed(2)}${thread}`, `etcd ${cpu.etcd.toFixed(2)}`];
  if (cpu.child > 0) parts.push(`bridge ${cpu.child.toFixed(2)}`);
  parts.push(`other ${cpu.other.toFixed(2)}`);
  return parts.join(' · ');
}

function report(options: BenchOptions, r: BenchResult): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const count = (n: number) => n.toLocaleString('en-US');
  const bridgeNote = (run: BenchResult['e2e']) =>
    `${(run.recordsPerTxn ?? 0).toFixed(1)} records/txn, ${run.deadLettered ?? 0} dead-lettered, ${run.retries ?? 0} retries` +
    (run.writeMs > 0.9 * run.durationMs ? '; inputs arrived barely faster: a lower bound' : '');
  const idealNote = (run: BenchResult['ideal']) =>
    `outputs precomputed; ${(run.recordsPerTxn ?? 0).toFixed(1)} records/txn, ${options.idealTransactions} txns in flight`;
  const naiveNote =
    options.naiveEvents < options.events
      ? `measured on ${count(options.naiveEvents)} events, not ${count(options.events)}: it is slow`
      : 'one record at a time';
  const latencyRow = (label: string, run: BenchResult['latency']) => {
    const lat = run.summary;
    const first = run.firstStage;
    return [
      label,
      `${count(lat.count)} events`,
      s(run.durationMs),
      `p50 ${lat.p50.toFixed(1)} / p95 ${lat.p95.toFixed(1)} / p99 ${lat.p99.toFixed(1)} ms`,
      formatCpu(run.cpu),
      `max ${lat.max.toFixed(1)} ms; open loop, sent at ${formatRate(run.achievedPerS)}/s` +
        (first ? `; put → job_state: p50 ${first.p50.toFixed(1)} / p99 ${first.p99.toFixed(1)} ms` : ''),
    ];
  };
  const rows = [
    ['measurement', 'count', 'time', 'result', 'CPU (cores)', 'notes'],
    [
      '1. etcd ceiling',
      `${count(r.ceiling.puts)} puts`,
      s(r.ceiling.durationMs),
      `${formatRate(r.ceiling.putsPerS)} puts/s`,
      formatCpu(r.ceiling.cpu),
      `txns of 128 puts of ${r.ceiling.valueBytes} B, ${r.ceiling.parallel} in flight`,
    ],
    [
      '2. ideal client',
      `${count(r.ideal.events)} events`,
      s(r.ideal.durationMs),
      `${formatRate(r.ideal.eventsPerS)} events/s`,
      formatCpu(r.ideal.cpu),
      idealNote(r.ideal),
    ],
    [
      '3. naive bridge',
      `${count(r.naive.events)} events`,
      s(r.naive.durationMs),
      `${formatRate(r.naive.eventsPerS)} events/s`,
      formatCpu(r.naive.cpu),
      naiveNote,
    ],
    [
      '4. bridge in-process',
      `${count(r.e2e.events)} events`,
      s(r.e2e.durationMs),
      `${formatRate(r.e2e.eventsPerS)} events/s`,
      formatCpu(r.e2e.cpu),
      bridgeNote(r.e2e),
    ],
    [
      '5. bridge over HTTP',
      `${count(r.http.events)} events`,
      s(r.http.durationMs),
      `${formatRate(r.http.eventsPerS)} events/s`,
      formatCpu(r.http.cpu),
      `SDK → local Lambda endpoint (same process); ${bridgeNote(r.http)}`,
    ],
    [
      `6. HTTP, +${options.invokeDelayMs} ms an invoke`,
      `${count(r.lambdaLike.events)} events`,
      s(r.lambdaLike.durationMs),
      `${formatRate(r.lambdaLike.eventsPerS)} events/s`,
      formatCpu(r.lambdaLike.cpu),
      `Lambda-like latency (the endpoint's host waits first); ${bridgeNote(r.lambdaLike)}`,
    ],
    latencyRow(`7. latency @ ${options.rate}/s`, r.latency),
    latencyRow(`8. ideal client @ ${options.rate}/s`, r.idealLatency),
    [
      '9. backlog, child bridge',
      `${count(r.backlog.events)} events`,
      s(r.backlog.drainMs),
      `peak RSS ${r.backlog.peakRssMb.toFixed(1)} MB (${(r.backlog.peakRssMb / 1.048576).toFixed(1)} MiB)`,
      formatCpu(r.backlog.cpu),
      `drained at ${formatRate(r.backlog.eventsPerS)} events/s (incl. start-up); ${r.backlog.samples} samples`,
    ],
  ];
  const header = [
    `etcd-bridge bench: ${cpus().length} CPUs, Node ${process.version}; ${count(options.keys)} keys; each phase on a fresh etcd.`,
    'Inputs of 2-6 are streamed: one put a record (a revision each, as Heat writes them), 32 in flight, from a worker',
    `thread, while the pipeline runs on the main thread (writing took ${s(r.e2e.writeMs)} in 4); time runs from the first`,
    'input put to the last state record seen. CPU: cores used on average; "bridge thread" is its event-loop utilization.',
    'An event is one heat stack revision processed through both stages (its state record written).',
    "The ideal client (2, 8) does the pipeline's etcd work alone: both watches, the snapshot reads, the same commit",
    'transactions (fence, markers, outputs, nested delete, checkpoints), with outputs computed before the run.',
    `etcd ${options.etcdArgs.length > 0 ? `flags: ${options.etcdArgs.join(' ')}` : 'runs with its default flags'}; 9 runs: ${r.backlog.command}`,
    '',
  ];
  const others = [
    r.ceiling.cpu,
    r.ideal.cpu,
    r.naive.cpu,
    r.e2e.cpu,
    r.http.cpu,
    r.lambdaLike.cpu,
    r.latency.cpu,
    r.idealLatency.cpu,
    r.backlog.cpu,
  ]
    .map((cpu) => cpu?.other ?? 0)
    .reduce((a, b) => Math.max(a, b), 0);
  const footer =
    others > 0.2
      ? [
          '',
          `WARNING: other processes used up to ${others.toFixed(2)} of the ${cpus().length} cores during a phase; those figures are disturbed.`,
        ]
      : [];
  const probeLine = (label: string, probe: ProbeReport | undefined) =>
    probe
      ? `  ${label}: a commit in flight ${Math.round(probe.committerBusy * 100)}% of the window; ` +
        `${count(probe.commits.count)} commits, mean ${probe.commits.meanMs.toFixed(1)} ms, p99 ${probe.commits.p99Ms.toFixed(1)} ms; ` +
        `${count(probe.reads.count)} snapshot reads, mean ${probe.reads.meanMs.toFixed(1)} ms, p99 ${probe.reads.p99Ms.toFixed(1)} ms`
      : undefined;
  const probes = [
    probeLine('2. ideal client', r.ideal.probe),
    probeLine('4. in-process', r.e2e.probe),
    probeLine('5. over HTTP', r.http.probe),
    probeLine(`6. +${options.invokeDelayMs} ms`, r.lambdaLike.probe),
    probeLine(`7. @ ${options.rate}/s`, r.latency.probe),
    probeLine(`8. ideal @ ${options.rate}/s`, r.idealLatency.probe),
  ].filter((line): line is string => line !== undefined);
  const probeSection = probes.length
    ? [
        '',
        "The client's etcd transactions, as it saw them (etcd's time + waiting for its thread):",
        ...probes,
      ]
    : [];
  return [...header, formatTable(rows), ...probeSection, ...footer].join('\n');
}
