import { describe, expect, it } from 'vitest';
import { classified, type FailureReason } from '../../../../bridge/failure/classify.js';
import type { Failure } from '../../../../bridge/failure/failure.js';
import {
  MIN_BLOCKED_RETRY_MS,
  type SettleContext,
  type Step,
  settle,
} from '../../../../bridge/worker/settle.js';
import { RetryPolicySchema } from '../../../../shared/index.js';

const NOW = 1_700_000_000_000;
const retry = RetryPolicySchema.parse({
  maxAttempts: 3,
  initialDelayMs: 100,
  maxDelayMs: 400,
  maxRecordAgeMs: 60_000,
});
const context = (overrides: Partial<SettleContext> = {}): SettleContext => ({
  route: { retry, onFailure: 'dead-letter' },
  item: { attempts: 1, firstAttemptAt: NOW },
  now: NOW,
  readRetryDelayMs: 123,
  random: () => 0.5,
  ...overrides,
});
const failure = (reason: FailureReason): Failure => ({ ...classified(reason), errorType: 'E', message: 'm' });
const failed = (step: Step, reason: FailureReason) => ({
  kind: 'failed' as const,
  step,
  failure: failure(reason),
});

describe('settle: results that finish or go on', () => {
  it('finishes an applied record as skipped, an empty answer as noop', () => {
    expect(settle({ kind: 'applied-already' }, context())).toEqual({ kind: 'finish', as: 'skipped' });
    expect(settle({ kind: 'answered', mutations: [] }, context())).toEqual({ kind: 'finish', as: 'noop' });
  });

  it('commits an answer with mutations', () => {
    const mutations = [{ op: 'put' as const, key: '/k', value: 'v' }];
    expect(settle({ kind: 'answered', mutations }, context())).toEqual({ kind: 'commit', mutations });
  });

  it('counts a commit or a dead-letter found applied already as skipped', () => {
    expect(settle({ kind: 'committed', outcome: 'committed' }, context())).toEqual({
      kind: 'finish',
      as: 'committed',
    });
    expect(settle({ kind: 'committed', outcome: 'already-applied' }, context())).toEqual({
      kind: 'finish',
      as: 'skipped',
    });
    expect(settle({ kind: 'dead-lettered', outcome: 'committed' }, context())).toEqual({
      kind: 'finish',
      as: 'deadLettered',
    });
    expect(settle({ kind: 'dead-lettered', outcome: 'already-applied' }, context())).toEqual({
      kind: 'finish',
      as: 'skipped',
    });
  });

  it('leaves a record the stop interrupted unfinished', () => {
    expect(settle({ kind: 'interrupted' }, context())).toEqual({ kind: 'leave' });
  });
});

describe('settle: failures', () => {
  it('stops the bridge on a fatal failure, wherever it happened', () => {
    for (const step of ['read', 'record', 'invoke', 'commit'] as const) {
      expect(settle(failed(step, 'leadership-lost'), context()).kind).toBe('stop');
    }
  });

  it('stops on any failure to dead-letter: there is nowhere left to put the record', () => {
    expect(settle(failed('dead-letter', 'bad-record'), context()).kind).toBe('stop');
    expect(settle(failed('dead-letter', 'etcd-unavailable'), context()).kind).toBe('stop');
  });

  it("retries a read etcd did not answer after the route's read backoff, without spending the attempt", () => {
    const exhausted = context({ item: { attempts: 99, firstAttemptAt: NOW - 10 * 60_000 } });
    expect(settle(failed('read', 'etcd-unavailable'), exhausted)).toEqual({
      kind: 'retry',
      delayMs: 123,
      counted: false,
    });
  });

  it('retries a retryable failure with the policy backoff, counted, until the attempts run out', () => {
    expect(settle(failed('invoke', 'function-error'), context())).toEqual({
      kind: 'retry',
      delayMs: 50,
      counted: true,
    });
    const last = context({ item: { attempts: 3, firstAttemptAt: NOW } });
    expect(settle(failed('invoke', 'function-error'), last)).toMatchObject({
      kind: 'dead-letter',
      reason: 'retries exhausted after 3 attempts',
    });
  });

  it('dead-letters a terminal failure at once, or blocks the key when the route says block', () => {
    expect(settle(failed('record', 'bad-record'), context())).toMatchObject({
      kind: 'dead-letter',
      reason: 'terminal error',
      failure: { reason: 'bad-record' },
    });
    const block = context({ route: { retry, onFailure: 'block' } });
    expect(settle(failed('commit', 'etcd-request-too-large'), block)).toMatchObject({
      kind: 'block',
      delayMs: Math.max(MIN_BLOCKED_RETRY_MS, retry.maxDelayMs),
    });
  });
});
