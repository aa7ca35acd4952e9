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
import { formatFsyncs } from './fsync.js';
import type { ProbeReport } from './probe.js';
import { formatProfileSummary } from './profile.js';
import { benchJson, checkTargets, formatRate, formatTable } from './report.js';
import {
  BENCH_PHASES,
  type BenchOptions,
  type BenchPhase,
  type BenchResult,
  DEFAULT_BENCH_OPTIONS,
  type LatencyRun,
  type PipelineRun,
  runBench,
} from './run.js';
import { latencyChartSvg } from './svg.js';

export const BENCH_USAGE =
  'npm run bench -- [--events N] [--keys N] [--naive-events N] [--latency-events N] [--rate N] [--backlog N] [--ideal-txns N] [--invoke-delay MS] [--phases LIST] [--bridge-node-flags FLAGS] [--wait-quiet S] [--svg PATH] [--profile DIR] [--json]';

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

/**
 * `--phases ceiling,backlog`: the phases to run, by name (BENCH_PHASES), comma-separated; they run
 * in the bench's order whatever the order given. Unknown or no names are a usage error.
 */
export function parsePhases(text: string | undefined): ReadonlySet<BenchPhase> {
  if (text === undefined) return new Set(BENCH_PHASES);
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const known = new Set<string>(BENCH_PHASES);
  const unknown = names.filter((name) => !known.has(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new BenchUsageError(
      `bench: --phases ${unknown.length > 0 ? `has no phase ${unknown.map((n) => JSON.stringify(n)).join(', ')}` : 'names no phase'}; the phases: ${BENCH_PHASES.join(', ')}`,
    );
  }
  return new Set(names as BenchPhase[]);
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
    phases: { type: 'string' },
    'bridge-node-flags': { type: 'string' },
    svg: { type: 'string', default: 'bench-latency.svg' },
    profile: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (positionals.length > 0) throw new BenchUsageError(`bench: unexpected argument ${positionals[0]}`);
  const d = DEFAULT_BENCH_OPTIONS;
  const options: BenchOptions = {
    ...d,
    phases: parsePhases(values.phases),
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
    ...(values['bridge-node-flags'] !== undefined
      ? { bridgeNodeFlags: values['bridge-node-flags'].split(/\s+/).filter(Boolean) }
      : {}),
    ...(values.profile ? { profileDir: resolve(values.profile) } : {}),
    progress: (label) => progressBar(label),
  };
  const svgPath = resolve(values.svg);

  const result = await runBench(options);
  const summary = benchJson({
    etcdCeilingPutsPerS: result.ceiling?.putsPerS,
    naiveEventsPerS: result.naive?.eventsPerS,
    e2eEventsPerS: result.e2e?.eventsPerS,
    e2eHttpEventsPerS: result.http?.eventsPerS,
    lambdaLikeEventsPerS: result.lambdaLike?.eventsPerS,
    idealEventsPerS: result.ideal?.eventsPerS,
    idealP99Ms: result.idealLatency?.summary.p99,
    floorP50Ms: result.floorLatency?.summary.p50,
    floorP99Ms: result.floorLatency?.summary.p99,
    p50Ms: result.latency?.summary.p50,
    p95Ms: result.latency?.summary.p95,
    p99Ms: result.latency?.summary.p99,
    peakRssMb: result.backlog?.peakRssMb,
  });
  if (result.latency) {
    await writeFile(
      svgPath,
      latencyChartSvg(result.latency.samplesMs, {
        title: `etcd-bridge: heat stack put → state record written, ${options.rate} events/s offered, in-process`,
      }),
    );
  }

  const out = process.stdout;
  out.write(`${report(options, result)}\n\n`);
  const targets = checkTargets(summary, `${options.rate} events/s`);
  out.write(
    `${formatTable([
      ['target', 'wanted', 'measured', ''],
      ...targets.map((t) => [t.name, t.target, t.actual, t.met ? 'met' : 'NOT MET']),
    ])}\n` +
      (summary.ceiling_ratio === null
        ? '\n'
        : `ceiling ratio (in-process × 3 / etcd ceiling): ${summary.ceiling_ratio.toFixed(3)} — a figure, not a target\n\n`),
  );
  for (const profile of result.profiles) {
    out.write(
      `${formatProfileSummary(`CPU profile: ${profile.title}`, profile.summary)}\n  (${profile.path})\n\n`,
    );
  }
  if (result.latency) out.write(`latency chart: ${svgPath}\n`);
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
  const bridgeNote = (run: PipelineRun) =>
    `${(run.recordsPerTxn ?? 0).toFixed(1)} records/txn, ${run.deadLettered ?? 0} dead-lettered, ${run.retries ?? 0} retries` +
    (run.writeMs > 0.9 * run.durationMs ? '; inputs arrived barely faster: a lower bound' : '');
  const idealNote = (run: PipelineRun) =>
    `outputs precomputed; ${(run.recordsPerTxn ?? 0).toFixed(1)} records/txn, ${options.idealTransactions} txns in flight`;
  const naiveNote =
    options.naiveEvents < options.events
      ? `measured on ${count(options.naiveEvents)} events, not ${count(options.events)}: it is slow`
      : 'one record at a time';
  const latencyRow = (label: string, run: LatencyRun) => {
    const lat = run.summary;
    const first = run.firstStage;
    return [
      label,
      `${count(lat.count)} events`,
      s(run.durationMs),
      `p50 ${lat.p50.toFixed(1)} / p95 ${lat.p95.toFixed(1)} / p99 ${lat.p99.toFixed(1)} ms`,
      formatCpu(run.cpu),
      `max ${lat.max.toFixed(1)} ms; open loop, sent at ${formatRate(run.achievedPerS)}/s` +
        (first ? `; put → job_state: p50 ${first.p50.toFixed(1)} / p99 ${first.p99.toFixed(1)} ms` : '') +
        (run.fsyncs ? `; ${formatFsyncs(run.fsyncs)}` : ''),
    ];
  };
  type Row = string[];
  const pipelineRow = (label: string, run: BenchResult['e2e'], note: (run: PipelineRun) => string): Row[] =>
    run
      ? [
          [
            label,
            `${count(run.events)} events`,
            s(run.durationMs),
            `${formatRate(run.eventsPerS)} events/s`,
            formatCpu(run.cpu),
            note(run),
          ],
        ]
      : [];
  const ceiling = r.ceiling;
  const backlog = r.backlog;
  // Only the phases that ran (`--phases`), numbered as in the full run.
  const rows: Row[] = [
    ['measurement', 'count', 'time', 'result', 'CPU (cores)', 'notes'],
    ...(ceiling
      ? [
          [
            '1. etcd ceiling',
            `${count(ceiling.puts)} puts`,
            s(ceiling.durationMs),
            `${formatRate(ceiling.putsPerS)} puts/s`,
            formatCpu(ceiling.cpu),
            `txns of 128 puts of ${ceiling.valueBytes} B, ${ceiling.parallel} in flight`,
          ],
        ]
      : []),
    ...pipelineRow('2. ideal client', r.ideal, idealNote),
    ...pipelineRow('3. naive bridge', r.naive, () => naiveNote),
    ...pipelineRow('4. bridge in-process', r.e2e, bridgeNote),
    ...pipelineRow(
      '5. bridge over HTTP',
      r.http,
      (run) => `SDK → local Lambda endpoint (same process); ${bridgeNote(run)}`,
    ),
    ...pipelineRow(
      `6. HTTP, +${options.invokeDelayMs} ms an invoke`,
      r.lambdaLike,
      (run) => `Lambda-like latency (the endpoint's host waits first); ${bridgeNote(run)}`,
    ),
    ...(r.latency ? [latencyRow(`7. latency @ ${options.rate}/s`, r.latency)] : []),
    ...(r.idealLatency ? [latencyRow(`8. ideal client @ ${options.rate}/s`, r.idealLatency)] : []),
    ...(backlog
      ? [
          [
            '9. backlog, child bridge',
            `${count(backlog.events)} events`,
            s(backlog.drainMs),
            `peak RSS ${backlog.peakRssMb.toFixed(1)} MB (${(backlog.peakRssMb / 1.048576).toFixed(1)} MiB)`,
            formatCpu(backlog.cpu),
            `drained at ${formatRate(backlog.eventsPerS)} events/s (incl. start-up); ${backlog.samples} samples` +
              (backlog.cpuPerEventUs === undefined
                ? ''
                : `; bridge CPU ${Math.round(backlog.cpuPerEventUs)} µs/event`),
          ],
        ]
      : []),
    ...(r.floorLatency ? [latencyRow(`10. floor client @ ${options.rate}/s`, r.floorLatency)] : []),
  ];
  const header = [
    `etcd-bridge bench: ${cpus().length} CPUs, Node ${process.version}; ${count(options.keys)} keys; each phase on a fresh etcd.`,
    'Inputs of 2-6 are streamed: one put a record (a revision each, as Heat writes them), 32 in flight, from a worker',
    `thread, while the pipeline runs on the main thread${r.e2e ? ` (writing took ${s(r.e2e.writeMs)} in 4)` : ''}; time runs from the first`,
    'input put to the last state record seen. CPU: cores used on average; "bridge thread" is its event-loop utilization.',
    'An event is one heat stack revision processed through both stages (its state record written).',
    "The ideal client (2, 8) does the pipeline's etcd work alone: both watches, the snapshot reads, the same commit",
    'transactions (fence, markers, outputs, nested delete, checkpoints), with outputs computed before the run.',
    'The floor client (10) writes the two outputs alone, each as a plain put as soon as its input is seen.',
    `etcd ${options.etcdArgs.length > 0 ? `flags: ${options.etcdArgs.join(' ')}` : 'runs with its default flags'}` +
      (backlog ? `; 9 runs: ${backlog.command}` : ''),
    '',
  ];
  const others = [
    r.ceiling?.cpu,
    r.ideal?.cpu,
    r.naive?.cpu,
    r.e2e?.cpu,
    r.http?.cpu,
    r.lambdaLike?.cpu,
    r.latency?.cpu,
    r.idealLatency?.cpu,
    r.backlog?.cpu,
    r.floorLatency?.cpu,
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
    probeLine('2. ideal client', r.ideal?.probe),
    probeLine('4. in-process', r.e2e?.probe),
    probeLine('5. over HTTP', r.http?.probe),
    probeLine(`6. +${options.invokeDelayMs} ms`, r.lambdaLike?.probe),
    probeLine(`7. @ ${options.rate}/s`, r.latency?.probe),
    probeLine(`8. ideal @ ${options.rate}/s`, r.idealLatency?.probe),
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
