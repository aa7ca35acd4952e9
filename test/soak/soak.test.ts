/**
 * The chaos soak, short: 20 s of records with every fault kind in play (bridge SIGKILL, etcd
 * restart, reset and blackhole cuts, leader SIGSTOP past its lease with a fencing window), then the
 * drain and the check of etcd's history. `npm run soak` runs the same for longer (docs/reliability.md).
 *
 * SOAK_SEED=<n> replays another plan. Runs the bridges from dist/ (`npm run build`).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SOAK_OPTIONS, runSoak } from './run.js';
import { formatReport } from './table.js';

const SEED = Number(process.env.SOAK_SEED ?? 20);

describe('chaos soak (20 s)', () => {
  it(`loses nothing, duplicates nothing, keeps per-key order, fences the deposed (seed ${SEED})`, async () => {
    const report = await runSoak({
      ...DEFAULT_SOAK_OPTIONS,
      minutes: 20 / 60,
      seed: SEED,
      // A shorter lease: failovers (and so the SIGSTOP fault) fit the 20 s.
      leaseTtlSeconds: 3,
      drainTimeoutMs: 30_000,
      stopGraceMs: 5_000,
    });
    const text = formatReport(report);
    console.log(text);

    expect(report.check.records, text).toBeGreaterThan(500);
    expect(report.faults.filter((f) => f.injected).length, text).toBeGreaterThanOrEqual(3);
    expect(report.drained, text).toBe(true);
    expect(report.check.lost, text).toBe(0);
    expect(report.check.duplicated, text).toBe(0);
    expect(report.check.outOfOrder, text).toBe(0);
    expect(report.check.deposedCommits, text).toBe(0);
    expect(report.check.wrongContent, text).toBe(0);
    expect(report.check.unfinished, text).toBe(0);
    expect(report.judgeProblems, text).toEqual([]);
  }, 90_000);
});
