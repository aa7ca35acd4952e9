import { describe, expect, it } from 'vitest';
import { BenchUsageError, parsePhases } from '../../../bench/command.js';
import { BENCH_PHASES } from '../../../bench/run.js';

describe('--phases', () => {
  it('runs all ten phases when not given', () => {
    expect([...parsePhases(undefined)]).toEqual([...BENCH_PHASES]);
    expect(BENCH_PHASES).toHaveLength(10);
  });

  it('takes one phase or a comma-separated list of them', () => {
    expect([...parsePhases('backlog')]).toEqual(['backlog']);
    expect([...parsePhases('latency, backlog')]).toEqual(['latency', 'backlog']);
    expect([...parsePhases('ideal-latency,lambda-like,')]).toEqual(['ideal-latency', 'lambda-like']);
  });

  it('refuses an unknown phase, naming the flag, the name and the phases there are', () => {
    const refused = () => parsePhases('latency,backlogg');
    expect(refused).toThrow(BenchUsageError);
    expect(refused).toThrow(/^bench: --phases has no phase "backlogg"; the phases: ceiling, ideal, naive,/);
    expect(() => parsePhases(',')).toThrow(/--phases names no phase/);
    expect(() => parsePhases('')).toThrow(BenchUsageError);
  });
});
