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
  p50Ms: 10.123,
  p95Ms: 30.456,
  p99Ms: 49.999,
  peakRssMb: 180.04,
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

  it('is one line of JSON', () => {
    const line = JSON.stringify(benchJson(figures));
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual(benchJson(figures));
  });
});

describe('checkTargets', () => {
  it('holds each figure to its target', () => {
    const checks = checkTargets(benchJson(figures));
    expect(checks.map((c) => [c.name, c.met])).toEqual([
      ['ceiling ratio', true],
      ['speedup vs naive', true],
      ['HTTP path vs naive', true],
      ['p99 at 500 events/s', true],
      ['peak RSS, backlog', true],
    ]);
    const slow = checkTargets(
      benchJson({ ...figures, e2eEventsPerS: 1_000, e2eHttpEventsPerS: 450, p99Ms: 51 }),
    );
    expect(slow.filter((c) => !c.met).map((c) => c.name)).toEqual([
      'ceiling ratio',
      'speedup vs naive',
      'p99 at 500 events/s',
    ]);
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
