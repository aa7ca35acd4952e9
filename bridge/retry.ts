/**
 * The retry policy, in one place: exponential backoff with full jitter, bounded by attempts and by
 * the record's age. Everything that fails asks `decideRetry` what to do next.
 */
import type { RetryPolicy } from '../shared/index.js';

export interface AttemptState {
  /** Attempts made so far, the failed one included. */
  readonly attempts: number;
  /** When the first attempt started (ms since epoch). */
  readonly firstAttemptAt: number;
}

export type RetryDecision =
  | { readonly action: 'retry'; readonly delayMs: number }
  | { readonly action: 'give-up'; readonly reason: string };

export function decideRetry(
  policy: RetryPolicy,
  state: AttemptState,
  retryable: boolean,
  now: number = Date.now(),
  random: () => number = Math.random,
): RetryDecision {
  if (!retryable) return { action: 'give-up', reason: 'terminal error' };
  if (state.attempts >= policy.maxAttempts) {
    return { action: 'give-up', reason: `retries exhausted after ${state.attempts} attempts` };
  }
  const delayMs = backoffDelay(policy, state.attempts, random);
  if (now + delayMs - state.firstAttemptAt > policy.maxRecordAgeMs) {
    return { action: 'give-up', reason: `record older than maxRecordAgeMs (${policy.maxRecordAgeMs} ms)` };
  }
  return { action: 'retry', delayMs };
}

/** Full jitter: uniform in [0, min(max, initial × 2^(attempts-1))]. */
export function backoffDelay(
  policy: RetryPolicy,
  attempts: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(random() * ceiling);
}
