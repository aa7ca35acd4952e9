import { describe, expect, it } from 'vitest';
import { firstRevision } from '../../../bridge/start-position.js';

describe('firstRevision', () => {
  it('starts after the head for latest and resync, at 1 for earliest, at a given revision', () => {
    expect(firstRevision('latest', 41n)).toBe(42n);
    expect(firstRevision('resync', 41n)).toBe(42n);
    expect(firstRevision('earliest', 41n)).toBe(1n);
    expect(firstRevision('7', 41n)).toBe(7n);
    expect(firstRevision('18446744073709551615', 41n)).toBe(18446744073709551615n);
  });
});
