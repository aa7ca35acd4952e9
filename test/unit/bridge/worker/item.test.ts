import { describe, expect, it } from 'vitest';
import { newItem, refundAttempt, startAttempt } from '../../../../bridge/worker/item.js';

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
