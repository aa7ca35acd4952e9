import { describe, expect, it } from 'vitest';
import { backoffDelay, decideRetry } from '../../bridge/retry.js';
import { type RetryPolicy, RetryPolicySchema } from '../../shared/index.js';

const policy: RetryPolicy = RetryPolicySchema.parse({
  maxAttempts: 5,
  initialDelayMs: 100,
  maxDelayMs: 1_000,
  maxRecordAgeMs: 60_000,
});
const NOW = 1_700_000_000_000;

/** A "random" source that returns these values in turn. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('backoffDelay', () => {
  it('doubles its ceiling each attempt from initialDelayMs and caps it at maxDelayMs', () => {
    // random() just below 1 gives (nearly) the ceiling itself
    const top = (attempts: number) => backoffDelay(policy, attempts, () => 0.999_999_9);
    expect([1, 2, 3, 4, 5, 6, 20].map(top)).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
  });

  it('is full jitter: 0 at random() = 0, and always a whole number within [0, ceiling]', () => {
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
    for (let attempts = 1; attempts <= 12; attempts++) {
      const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempts - 1));
      for (const r of [0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999]) {
        const delay = backoffDelay(policy, attempts, () => r);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('spreads delays over the whole range with Math.random', () => {
    const delays = Array.from({ length: 2_000 }, () => backoffDelay(policy, 4));
    expect(Math.min(...delays)).toBeLessThan(100);
    expect(Math.max(...delays)).toBeGreaterThan(700);
    expect(Math.max(...delays)).toBeLessThanOrEqual(800);
  });

  it('treats attempt 0 like attempt 1 and never passes maxDelayMs even for a huge attempt count', () => {
    expect(backoffDelay(policy, 0, () => 0.999_999_9)).toBe(100);
    expect(backoffDelay(policy, 10_000, () => 0.999_999_9)).toBe(1_000);
  });
});

describe('decideRetry', () => {
  it('gives up at once on a terminal (non-retryable) error, whatever the attempts', () => {
    expect(decideRetry(policy, { attempts: 1, firstAttemptAt: NOW }, false, NOW)).toEqual({
      action: 'give-up',
      reason: 'terminal error',
    });
  });

  it('retries with the backoff delay until maxAttempts attempts were made, then gives up', () => {
    const random = sequence(0.5);
    const decisions = [1, 2, 3, 4, 5, 6].map((attempts) =>
      decideRetry(policy, { attempts, firstAttemptAt: NOW }, true, NOW, random),
    );
    expect(decisions.slice(0, 4)).toEqual([
      { action: 'retry', delayMs: 50 },
      { action: 'retry', delayMs: 100 },
      { action: 'retry', delayMs: 200 },
      { action: 'retry', delayMs: 400 },
    ]);
    expect(decisions[4]).toEqual({ action: 'give-up', reason: 'retries exhausted after 5 attempts' });
    expect(decisions[5]?.action).toBe('give-up');
  });

  it('with maxAttempts 1 never retries', () => {
    const once = { ...policy, maxAttempts: 1 };
    expect(decideRetry(once, { attempts: 1, firstAttemptAt: NOW }, true, NOW).action).toBe('give-up');
  });

  it('gives up when the retry would start after maxRecordAgeMs since the first attempt', () => {
    const state = { attempts: 2, firstAttemptAt: NOW - policy.maxRecordAgeMs + 150 };
    // delay 100 ms: the retry starts 50 ms before the age limit
    expect(decideRetry(policy, state, true, NOW, () => 0.5)).toEqual({ action: 'retry', delayMs: 100 });
    // delay 199 ms: it would start 49 ms after it
    expect(decideRetry(policy, state, true, NOW, () => 0.995)).toEqual({
      action: 'give-up',
      reason: `record older than maxRecordAgeMs (${policy.maxRecordAgeMs} ms)`,
    });
    // already older than the limit: gives up even with a zero delay
    const old = { attempts: 1, firstAttemptAt: NOW - policy.maxRecordAgeMs - 1 };
    expect(decideRetry(policy, old, true, NOW, () => 0).action).toBe('give-up');
  });

  it('checks attempts before age: an exhausted record says so', () => {
    const state = { attempts: 5, firstAttemptAt: NOW - 10 * policy.maxRecordAgeMs };
    expect(decideRetry(policy, state, true, NOW)).toEqual({
      action: 'give-up',
      reason: 'retries exhausted after 5 attempts',
    });
  });
});
