/**
 * Latency statistics for the benchmark: nearest-rank percentiles over recorded samples (no
 * interpolation, so every reported figure is a latency that was actually observed).
 */

export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** The nearest-rank `q`-th percentile (0 < q ≤ 100) of samples sorted in ascending order. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples');
  if (!(q > 0 && q <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${q}`);
  // Rounded to 12 significant digits first: (99.9 / 100) × 1000 is 999.0000000000001 in doubles,
  // which ceil would make rank 1000.
  const rank = Math.ceil(Number(((q / 100) * sorted.length).toPrecision(12)));
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Sorts a copy of the samples and summarizes them. */
export function summarizeLatencies(samples: readonly number[]): LatencySummary {
  if (samples.length === 0) throw new RangeError('no latency samples');
  const sorted = Float64Array.from(samples).sort();
  const values = Array.from(sorted);
  let sum = 0;
  for (const value of values) sum += value;
  return {
    count: values.length,
    min: values[0]!,
    mean: sum / values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    p999: percentile(values, 99.9),
    max: values[values.length - 1]!,
  };
}

/** Events (or puts) per second, from a count and a duration in milliseconds. */
export function ratePerSecond(count: number, durationMs: number): number {
  if (durationMs <= 0) throw new RangeError(`duration must be positive, got ${durationMs}`);
  return (count * 1000) / durationMs;
}
