import { describe, expect, it } from 'vitest';
import { percentile, ratePerSecond, summarizeLatencies } from '../../../bench/stats.js';

describe('percentile (nearest rank)', () => {
  const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('returns a sample that was observed, the ceil(q/100 × n)-th smallest', () => {
    expect(percentile(oneToHundred, 50)).toBe(50);
    expect(percentile(oneToHundred, 95)).toBe(95);
    expect(percentile(oneToHundred, 99)).toBe(99);
    expect(percentile(oneToHundred, 99.9)).toBe(100);
    expect(percentile(oneToHundred, 100)).toBe(100);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 51)).toBe(3);
  });

  it('is not one rank off where q/100 × n is a whole number in decimal but not in binary', () => {
    // 0.999 × 1000 is 999.0000000000001 in doubles: ceil made that rank 1000, the maximum.
    const oneToThousands = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    expect(percentile(oneToThousands(1_000), 99.9)).toBe(999);
    expect(percentile(oneToThousands(5_000), 99.9)).toBe(4_995);
    expect(percentile(oneToThousands(41_000), 99.9)).toBe(40_959);
  });

  it('takes the only sample of a one-sample set at every percentile', () => {
    expect(percentile([7], 1)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
  });

  it('refuses no samples and percentiles outside (0, 100]', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe('summarizeLatencies', () => {
  it('sorts numerically (not as strings) and summarizes', () => {
    const summary = summarizeLatencies([10, 9, 100, 2, 1000, 3]);
    expect(summary).toMatchObject({ count: 6, min: 2, max: 1000, p50: 9, p99: 1000 });
    expect(summary.mean).toBeCloseTo(1124 / 6);
  });

  it('leaves the samples in their order', () => {
    const samples = [3, 1, 2];
    summarizeLatencies(samples);
    expect(samples).toEqual([3, 1, 2]);
  });
});

describe('ratePerSecond', () => {
  it('is count per second of the duration in ms', () => {
    expect(ratePerSecond(20_000, 4_000)).toBe(5_000);
    expect(() => ratePerSecond(1, 0)).toThrow(RangeError);
  });
});
