import { describe, expect, it } from 'vitest';
import {
  BENCH_JSON_FIELDS,
  benchJson,
  checkTargets,
  formatTable,
  WRITES_PER_EVENT,
} from '../../../bench/report.js';

const figures = {
  etcdCeilingPutsPerS: 30_000,
  naiveEventsPerS: 150,
  e2eEventsPerS: 4_000,
  e2eHttpEventsPerS: 1_000,
  lambdaLikeEventsPerS: 3_300,
  idealEventsPerS: 4_400,
  idealP99Ms: 40,
  p50Ms: 10.123,
  p95Ms: 30.456,
  p99Ms: 49.999,
  peakRssMb: 180.04,
  floorP50Ms: 3.1,
  floorP99Ms: 20.5,
};

describe('benchJson', () => {
  it('has exactly the documented fields, in order', () => {
    const json = benchJson(figures);
    expect(Object.keys(json)).toEqual([...BENCH_JSON_FIELDS]);
    expect(BENCH_JSON_FIELDS).toEqual([
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
    ]);
    for (const value of Object.values(json)) expect(Number.isFinite(value)).toBe(true);
  });

  it('derives ceiling_ratio = e2e × 3 / ceiling and speedup_vs_naive = e2e / naive', () => {
    const json = benchJson(figures);
    expect(WRITES_PER_EVENT).toBe(3);
    expect(json.ceiling_ratio).toBe(0.4);
    expect(json.speedup_vs_naive).toBeCloseTo(26.67, 2);
    expect(json).toMatchObject({
      e2e_events_per_s: 4000,
      e2e_http_events_per_s: 1000,
      naive_events_per_s: 150,
      etcd_ceiling_puts_per_s: 30000,
      p50_ms: 10.12,
      p95_ms: 30.46,
      p99_ms: 50,
      peak_rss_mb: 180,
    });
  });

  it('derives ideal_ratio = e2e / ideal, latency_ratio = p99 / ideal p99, lambda_like_ratio = Lambda-like / e2e', () => {
    const json = benchJson(figures);
    expect(json).toMatchObject({
      ideal_events_per_s: 4400,
      ideal_ratio: 0.909,
      ideal_p99_ms: 40,
      latency_ratio: 1.25,
      lambda_like_events_per_s: 3300,
      lambda_like_ratio: 0.825,
    });
    expect(benchJson({ ...figures, p99Ms: 12.3456, idealP99Ms: 30.1 })).toMatchObject({
      p99_ms: 12.35,
      ideal_p99_ms: 30.1,
      latency_ratio: 0.41,
    });
  });

  it('is one line of JSON', () => {
    const line = JSON.stringify(benchJson(figures));
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual(benchJson(figures));
  });
});

describe('checkTargets', () => {
  const fast = { ...figures, p99Ms: 19.9, idealP99Ms: 40, peakRssMb: 149.9 };

  it('holds each figure to its target', () => {
    const checks = checkTargets(benchJson(fast));
    expect(checks.map((c) => [c.name, c.target, c.met])).toEqual([
      ['vs ideal client', '≥ 0.9', true],
      ['p99 vs ideal at 500 events/s', '≤ 0.6', true],
      ['Lambda-like vs in-process', '≥ 0.8', true],
      ['speedup vs naive', '≥ 10×', true],
      ['HTTP path vs naive', '≥ 3×', true],
      ['p99 at 500 events/s', '≤ 20 ms', true],
      ['peak RSS, backlog', '≤ 150 MB', true],
    ]);
    const slow = checkTargets(
      benchJson({ ...fast, e2eEventsPerS: 1_000, e2eHttpEventsPerS: 450, p99Ms: 51, peakRssMb: 151 }),
    );
    expect(slow.filter((c) => !c.met).map((c) => c.name)).toEqual([
      'vs ideal client',
      'p99 vs ideal at 500 events/s',
      'speedup vs naive',
      'p99 at 500 events/s',
      'peak RSS, backlog',
    ]);
  });

  it('meets the ratio targets at their bounds and misses them just past', () => {
    const names = (f: typeof figures) =>
      checkTargets(benchJson(f))
        .filter((c) => !c.met)
        .map((c) => c.name);
    // ideal_ratio 0.9, latency_ratio 0.6, lambda_like_ratio 0.8 exactly: met.
    const bounds = { ...fast, e2eEventsPerS: 3_600, idealEventsPerS: 4_000, lambdaLikeEventsPerS: 2_880 };
    expect(names({ ...bounds, p99Ms: 18, idealP99Ms: 30 })).toEqual([]);
    expect(
      names({ ...bounds, idealEventsPerS: 4_010, lambdaLikeEventsPerS: 2_870, p99Ms: 18.1, idealP99Ms: 30 }),
    ).toEqual(['vs ideal client', 'p99 vs ideal at 500 events/s', 'Lambda-like vs in-process']);
  });

  it('leaves ceiling_ratio out of the targets: a figure only', () => {
    const checks = checkTargets(benchJson({ ...fast, etcdCeilingPutsPerS: 1_000_000 }));
    expect(benchJson({ ...fast, etcdCeilingPutsPerS: 1_000_000 }).ceiling_ratio).toBe(0.012);
    expect(checks.some((c) => c.name.includes('ceiling'))).toBe(false);
    expect(checks.every((c) => c.met)).toBe(true);
  });
});

describe('formatTable', () => {
  it('pads columns and right-aligns figures under a rule', () => {
    const text = formatTable([
      ['name', 'rate'],
      ['a', '12 events/s'],
      ['long name', '1,234 events/s'],
    ]);
    expect(text.split('\n')).toEqual([
      'name       rate',
      '─────────  ──────────────',
      'a             12 events/s',
      'long name  1,234 events/s',
    ]);
  });
});

describe('a run of some phases (--phases)', () => {
  it('writes null for the figures and ratios of phases not run, and checks only the targets measured', () => {
    const json = benchJson({ peakRssMb: 140.04 });
    expect(Object.keys(json)).toEqual([...BENCH_JSON_FIELDS]);
    expect(json.peak_rss_mb).toBe(140);
    expect(Object.entries(json).filter(([, v]) => v !== null)).toEqual([['peak_rss_mb', 140]]);
    expect(checkTargets(json).map((c) => [c.name, c.actual, c.met])).toEqual([
      ['peak RSS, backlog', '140.0 MB', true],
    ]);
    const half = benchJson({ e2eEventsPerS: 4_000, idealEventsPerS: 4_400 });
    expect(half.ideal_ratio).toBe(0.909);
    expect(half.speedup_vs_naive).toBeNull();
    expect(half.ceiling_ratio).toBeNull();
    expect(checkTargets(half).map((c) => c.name)).toEqual(['vs ideal client']);
  });
});
