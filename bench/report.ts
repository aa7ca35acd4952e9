/**
 * What `etcd-bridge bench` prints: the summary JSON line (one fixed set of fields, derived ratios
 * computed here and nowhere else), the table on screen, and the targets each figure is held to.
 */

/**
 * The raw figures of one bench run; a figure whose phase was not run (`--phases`) is left out.
 */
export interface BenchFigures {
  readonly etcdCeilingPutsPerS?: number;
  readonly naiveEventsPerS?: number;
  readonly e2eEventsPerS?: number;
  readonly e2eHttpEventsPerS?: number;
  /** The HTTP path with a Lambda-like latency (20 ms) added to every invocation. */
  readonly lambdaLikeEventsPerS?: number;
  /** The ideal client (the pipeline's etcd work alone, outputs precomputed), streamed. */
  readonly idealEventsPerS?: number;
  /** The ideal client's p99 at the latency phase's fixed load. */
  readonly idealP99Ms?: number;
  readonly p50Ms?: number;
  readonly p95Ms?: number;
  readonly p99Ms?: number;
  /** MB = 10^6 bytes. */
  readonly peakRssMb?: number;
  /** The floor client (the two output writes alone) at the latency phase's fixed load. */
  readonly floorP50Ms?: number;
  readonly floorP99Ms?: number;
}

/**
 * The last stdout line with `--json`. Field order is fixed; a field is null when a phase it comes
 * from was not run (`--phases`).
 */
export interface BenchJson {
  e2e_events_per_s: number | null;
  e2e_http_events_per_s: number | null;
  naive_events_per_s: number | null;
  etcd_ceiling_puts_per_s: number | null;
  ceiling_ratio: number | null;
  speedup_vs_naive: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  peak_rss_mb: number | null;
  ideal_events_per_s: number | null;
  ideal_ratio: number | null;
  ideal_p99_ms: number | null;
  latency_ratio: number | null;
  lambda_like_events_per_s: number | null;
  lambda_like_ratio: number | null;
  floor_p50_ms: number | null;
  floor_p99_ms: number | null;
}

export const BENCH_JSON_FIELDS = [
  'e2e_events_per_s',
  'e2e_http_events_per_s',
  'naive_events_per_s',
  'etcd_ceiling_puts_per_s',
  'ceiling_ratio',
  'speedup_vs_naive',
  'p50_ms',
  'p95_ms',
  'p99_ms',
  'peak_rss_mb',
  'ideal_events_per_s',
  'ideal_ratio',
  'ideal_p99_ms',
  'latency_ratio',
  'lambda_like_events_per_s',
  'lambda_like_ratio',
  'floor_p50_ms',
  'floor_p99_ms',
] as const satisfies ReadonlyArray<keyof BenchJson>;

/** Writes an event causes that count against etcd's ceiling: heat stack (1), job_state (2), state (3). */
export const WRITES_PER_EVENT = 3;

/** `value` rounded to `digits` decimals; null when it was not measured. */
const round = (value: number | undefined, digits: number): number | null => {
  if (value === undefined) return null;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

/** a / b × factor, or undefined when either figure was not measured. */
const ratio = (a: number | undefined, b: number | undefined, factor = 1): number | undefined =>
  a === undefined || b === undefined ? undefined : (a * factor) / b;

/**
 * ceiling_ratio = e2e × 3 / ceiling: the share of etcd's own batched-put ceiling the pipeline's
 * three record writes per event reach. speedup_vs_naive = e2e / naive. ideal_ratio = e2e / ideal
 * and latency_ratio = p99 / ideal p99: the bridge against a client that does only the pipeline's
 * etcd work. lambda_like_ratio = Lambda-like / e2e: how much of a 20 ms invoke latency the route's
 * concurrency and batches hide.
 */
export function benchJson(f: BenchFigures): BenchJson {
  return {
    e2e_events_per_s: round(f.e2eEventsPerS, 1),
    e2e_http_events_per_s: round(f.e2eHttpEventsPerS, 1),
    naive_events_per_s: round(f.naiveEventsPerS, 1),
    etcd_ceiling_puts_per_s: round(f.etcdCeilingPutsPerS, 1),
    ceiling_ratio: round(ratio(f.e2eEventsPerS, f.etcdCeilingPutsPerS, WRITES_PER_EVENT), 3),
    speedup_vs_naive: round(ratio(f.e2eEventsPerS, f.naiveEventsPerS), 2),
    p50_ms: round(f.p50Ms, 2),
    p95_ms: round(f.p95Ms, 2),
    p99_ms: round(f.p99Ms, 2),
    peak_rss_mb: round(f.peakRssMb, 1),
    ideal_events_per_s: round(f.idealEventsPerS, 1),
    ideal_ratio: round(ratio(f.e2eEventsPerS, f.idealEventsPerS), 3),
    ideal_p99_ms: round(f.idealP99Ms, 2),
    latency_ratio: round(ratio(f.p99Ms, f.idealP99Ms), 3),
    lambda_like_events_per_s: round(f.lambdaLikeEventsPerS, 1),
    lambda_like_ratio: round(ratio(f.lambdaLikeEventsPerS, f.e2eEventsPerS), 3),
    floor_p50_ms: round(f.floorP50Ms, 2),
    floor_p99_ms: round(f.floorP99Ms, 2),
  };
}

export interface TargetCheck {
  readonly name: string;
  readonly target: string;
  readonly actual: string;
  readonly met: boolean;
}

/**
 * The targets (the benchmark issue's, with issue #13's in place of its p99 and RSS bounds):
 * reported, never asserted. `ceiling_ratio` is not one of them any more: on 2 cores even the ideal
 * client reaches only a fraction of etcd's raw ceiling, so it is reported as a figure only.
 */
export function checkTargets(json: BenchJson, rateLabel = '500 events/s'): TargetCheck[] {
  const httpVsNaive =
    json.e2e_http_events_per_s === null || json.naive_events_per_s === null
      ? null
      : json.e2e_http_events_per_s / json.naive_events_per_s;
  // A target whose figure was not measured (its phase not run) is left out.
  const target = (
    name: string,
    wanted: string,
    value: number | null,
    show: (value: number) => string,
    met: (value: number) => boolean,
  ): TargetCheck[] =>
    value === null ? [] : [{ name, target: wanted, actual: show(value), met: met(value) }];
  return [
    ...target(
      'vs ideal client',
      '≥ 0.9',
      json.ideal_ratio,
      (v) => v.toFixed(3),
      (v) => v >= 0.9,
    ),
    ...target(
      `p99 vs ideal at ${rateLabel}`,
      '≤ 0.6',
      json.latency_ratio,
      (v) => v.toFixed(3),
      (v) => v <= 0.6,
    ),
    ...target(
      'Lambda-like vs in-process',
      '≥ 0.8',
      json.lambda_like_ratio,
      (v) => v.toFixed(3),
      (v) => v >= 0.8,
    ),
    ...target(
      'speedup vs naive',
      '≥ 10×',
      json.speedup_vs_naive,
      (v) => `${v.toFixed(1)}×`,
      (v) => v >= 10,
    ),
    ...target(
      'HTTP path vs naive',
      '≥ 3×',
      httpVsNaive,
      (v) => `${v.toFixed(1)}×`,
      (v) => v >= 3,
    ),
    ...target(
      `p99 at ${rateLabel}`,
      '≤ 20 ms',
      json.p99_ms,
      (v) => `${v.toFixed(1)} ms`,
      (v) => v <= 20,
    ),
    ...target(
      'peak RSS, backlog',
      '≤ 150 MB',
      json.peak_rss_mb,
      (v) => `${v.toFixed(1)} MB`,
      (v) => v <= 150,
    ),
  ];
}

/** A plain text table: first row is the header; columns padded; numbers right-aligned. */
export function formatTable(rows: ReadonlyArray<readonly string[]>): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  const numeric = /^[-+]?[\d.,]+( ?[a-zA-Z%×/]+(\/s)?)?$/;
  const lines = rows.map((row) =>
    row
      .map((cell, i) => (i > 0 && numeric.test(cell) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  return [lines[0]!, rule, ...lines.slice(1)].join('\n');
}

/** 12345.6 → "12,346" (no fraction above 100, one below). */
export function formatRate(value: number): string {
  return value >= 100
    ? Math.round(value).toLocaleString('en-US')
    : value.toLocaleString('en-US', { maximumFractionDigits: 1 });
}
