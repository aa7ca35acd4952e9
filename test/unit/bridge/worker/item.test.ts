import { describe, expect, it } from 'vitest';
import { classified } from '../../../../bridge/failure/classify.js';
import { deadLetterInput, newItem, refundAttempt, startAttempt } from '../../../../bridge/worker/item.js';

describe('work item attempts', () => {
  it('counts attempts, keeps the first attempt time, and gives back one that was not the record’s fault', () => {
    // Prepare
    const item = newItem({ key: '/k', type: 'put', value: null, revision: 5n, fromResync: false }, 1_000);
    // Act
    startAttempt(item, 2_000);
    startAttempt(item, 3_000);
    refundAttempt(item);
    // Assess
    expect(item).toMatchObject({
      attempts: 1,
      firstAttemptAt: 2_000,
      lastAttemptAt: 3_000,
      receivedAt: 1_000,
    });
    refundAttempt(item);
    refundAttempt(item);
    expect(item.attempts).toBe(0);
  });
});

describe('deadLetterInput', () => {
  it('carries the whole record, the error with why it gave up, and the attempts', () => {
    // Prepare
    const item = newItem(
      { key: '/k', type: 'put', value: Buffer.from('{'), revision: 9n, fromResync: false },
      1_000,
    );
    startAttempt(item, 2_000);
    const failure = {
      ...classified('bad-record'),
      errorType: 'RecordValidationError',
      message: '/k: not JSON',
    };
    // Act
    const input = deadLetterInput(item, failure, 'terminal error', 'heat-stacks', 'bridge-1');
    // Assess
    expect(input).toEqual({
      route: 'heat-stacks',
      key: '/k',
      type: 'put',
      modRevision: 9n,
      value: Buffer.from('{'),
      errorType: 'RecordValidationError',
      errorMessage: '/k: not JSON (terminal error)',
      attempts: 1,
      firstAttemptAt: 2_000,
      lastAttemptAt: 2_000,
      bridgeId: 'bridge-1',
    });
  });
});
