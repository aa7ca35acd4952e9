/**
 * What a record's failure leads to under its route's retry policy: another attempt after the
 * backoff, or giving up (then the record is dead-lettered or its key blocks). Bounded by attempts
 * and by the record's age; a terminal failure gives up at once.
 */
import type { RetryPolicy } from '../../shared/index.js';
import { backoffDelay } from './backoff.js';
import type { Verdict } from './classify.js';

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
  verdict: Exclude<Verdict, 'fatal'>,
  now: number = Date.now(),
  random: () => number = Math.random,
): RetryDecision {
  if (verdict === 'terminal') return { action: 'give-up', reason: 'terminal error' };
  if (state.attempts >= policy.maxAttempts) {
    return { action: 'give-up', reason: `retries exhausted after ${state.attempts} attempts` };
  }
  const delayMs = backoffDelay({ ...policy, random }, state.attempts);
  if (now + delayMs - state.firstAttemptAt > policy.maxRecordAgeMs) {
    return { action: 'give-up', reason: `record older than maxRecordAgeMs (${policy.maxRecordAgeMs} ms)` };
  }
  return { action: 'retry', delayMs };
}
