import { describe, expect, it } from 'vitest';
import { decideRetry } from '../../../../bridge/failure/retry-decision.js';
import { type RetryPolicy, RetryPolicySchema } from '../../../../shared/index.js';

const policy: RetryPolicy = RetryPolicySchema.parse({
  maxAttempts: 5,
  initialDelayMs: 100,
  maxDelayMs: 1_000,
  maxRecordAgeMs: 60_000,
});
const NOW = 1_700_000_000_000;
const half = () => 0.5;

describe('decideRetry', () => {
  it('gives up at once on a terminal error, whatever the attempts', () => {
    // Prepare / Act / Assess
    expect(decideRetry(policy, { attempts: 1, firstAttemptAt: NOW }, 'terminal', NOW, half)).toEqual({
      action: 'give-up',
      reason: 'terminal error',
    });
  });

  it('retries with the backoff delay until maxAttempts attempts were made, then gives up', () => {
    // Act
    const decisions = [1, 2, 3, 4, 5, 6].map((attempts) =>
      decideRetry(policy, { attempts, firstAttemptAt: NOW }, 'retry', NOW, half),
    );
    // Assess: half of 100, 200, 400, 800
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
    expect(decideRetry(once, { attempts: 1, firstAttemptAt: NOW }, 'retry', NOW, half).action).toBe(
      'give-up',
    );
  });

  it('gives up when the retry would start after maxRecordAgeMs since the first attempt', () => {
    const state = { attempts: 2, firstAttemptAt: NOW - policy.maxRecordAgeMs + 150 };
    // delay 100 ms: the retry starts 50 ms before the age limit
    expect(decideRetry(policy, state, 'retry', NOW, half)).toEqual({ action: 'retry', delayMs: 100 });
    // delay 199 ms: it would start 49 ms after it
    expect(decideRetry(policy, state, 'retry', NOW, () => 0.995)).toEqual({
      action: 'give-up',
      reason: `record older than maxRecordAgeMs (${policy.maxRecordAgeMs} ms)`,
    });
    // already older than the limit: gives up even with a zero delay
    const old = { attempts: 1, firstAttemptAt: NOW - policy.maxRecordAgeMs - 1 };
    expect(decideRetry(policy, old, 'retry', NOW, () => 0).action).toBe('give-up');
  });

  it('checks attempts before age: an exhausted record says so', () => {
    const state = { attempts: 5, firstAttemptAt: NOW - 10 * policy.maxRecordAgeMs };
    expect(decideRetry(policy, state, 'retry', NOW, half)).toEqual({
      action: 'give-up',
      reason: 'retries exhausted after 5 attempts',
    });
  });
});
