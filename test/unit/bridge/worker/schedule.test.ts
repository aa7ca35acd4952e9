import { describe, expect, it } from 'vitest';
import { type ScheduleInput, scheduleDecision } from '../../../../bridge/worker/schedule.js';

const route = { batchSize: 64, concurrency: 8, batchWindowMs: 2 };
const at = (ready: number, inFlight: number, over: Partial<ScheduleInput> = {}): ScheduleInput => ({
  ...route,
  ready,
  inFlight,
  ...over,
});

describe('scheduleDecision', () => {
  it('dispatches at once when nothing of the route is in flight, even a single record', () => {
    // Act / Assess
    expect(scheduleDecision(at(1, 0))).toBe('now');
    expect(scheduleDecision(at(63, 0))).toBe('now');
    expect(scheduleDecision(at(1, 0, { batchWindowMs: 1000 }))).toBe('now');
  });

  it('lets a partial batch wait behind work in flight, for the window at most', () => {
    // Act / Assess
    expect(scheduleDecision(at(1, 1))).toBe('wait');
    expect(scheduleDecision(at(63, 7))).toBe('wait');
  });

  it('dispatches behind work in flight once a batch is full, or when the route has no window', () => {
    // Act / Assess
    expect(scheduleDecision(at(64, 1))).toBe('now');
    expect(scheduleDecision(at(200, 3))).toBe('now');
    expect(scheduleDecision(at(1, 1, { batchWindowMs: 0 }))).toBe('now');
  });

  it('does nothing with nothing ready, or with every batch of the concurrency in flight', () => {
    // Act / Assess
    expect(scheduleDecision(at(0, 0))).toBe('none');
    expect(scheduleDecision(at(0, 3))).toBe('none');
    expect(scheduleDecision(at(64, 8))).toBe('none');
    expect(scheduleDecision(at(1, 1, { concurrency: 1 }))).toBe('none');
  });
});
