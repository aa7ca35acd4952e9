/**
 * Failures counted by classification, for the `etcd_bridge_failures_total` and
 * `etcd_bridge_commit_failures_total` counters: the reasons are a fixed set (`FAILURE_REASONS`), so
 * the label values stay few.
 */
import { type Classification, FAILURE_REASONS, type FailureReason, type Verdict } from './classify.js';

export interface FailureCount {
  readonly verdict: Verdict;
  readonly reason: FailureReason;
  readonly count: number;
}

export class FailureTally {
  private readonly counts = new Map<FailureReason, number>();

  count(classification: Classification): void {
    this.counts.set(classification.reason, (this.counts.get(classification.reason) ?? 0) + 1);
  }

  /** Every reason seen so far with its count. */
  entries(): FailureCount[] {
    return [...this.counts].map(([reason, count]) => ({ verdict: FAILURE_REASONS[reason], reason, count }));
  }
}
