import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay, sleep } from '../../../../bridge/failure/backoff.js';

const options = { initialDelayMs: 100, maxDelayMs: 1_000 };
/** Just below 1: the delay is (nearly) the ceiling itself. */
const top = () => 0.999_999_9;

/** A jitter source that returns these values in turn. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('backoffDelay', () => {
  it('doubles its ceiling each attempt from initialDelayMs and caps it at maxDelayMs', () => {
    const delay = (attempts: number) => backoffDelay({ ...options, random: top }, attempts);
    expect([1, 2, 3, 4, 5, 6, 20].map(delay)).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
  });

  it('is full jitter: the jitter source scales the ceiling, to a whole number in [0, ceiling]', () => {
    for (let attempts = 1; attempts <= 12; attempts++) {
      const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (attempts - 1));
      for (const r of [0, 0.1, 0.25, 0.5, 0.75, 0.9]) {
        expect(backoffDelay({ ...options, random: () => r }, attempts)).toBe(Math.round(r * ceiling));
      }
    }
  });

  it('treats attempt 0 like attempt 1 and never passes maxDelayMs even for a huge attempt count', () => {
    expect(backoffDelay({ ...options, random: top }, 0)).toBe(100);
    expect(backoffDelay({ ...options, random: top }, 10_000)).toBe(1_000);
  });
});

describe('Backoff', () => {
  it('hands out the same schedule as backoffDelay, one failure at a time', () => {
    // Prepare
    const random = sequence(0.5, 0.25, 1 - 1e-9);
    const backoff = new Backoff({ ...options, random });
    // Act
    const delays = Array.from({ length: 6 }, () => backoff.next());
    // Assess: ceilings 100, 200, 400, 800, 1000, 1000 times 0.5, 0.25, ~1 in turn
    expect(delays).toEqual([50, 50, 400, 400, 250, 1_000]);
  });

  it('starts over from the shortest delay after reset (a success)', () => {
    const backoff = new Backoff({ ...options, random: top });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400]);
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });
});

describe('sleep', () => {
  it('ends early when its signal aborts', async () => {
    // Prepare
    const controller = new AbortController();
    let done = false;
    const waiting = sleep(60_000, controller.signal).then(() => {
      done = true;
    });
    await Promise.resolve();
    expect(done).toBe(false);
    // Act
    controller.abort();
    await waiting;
    // Assess
    expect(done).toBe(true);
  });
});
