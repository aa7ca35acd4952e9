import { describe, expect, it } from 'vitest';
import { nextState, type WorkerEvent, WorkerState, watches } from '../../../../bridge/worker/state.js';

const EVENTS: WorkerEvent[] = ['start', 'full', 'drained', 'resync', 'resynced', 'stop'];

/** Follow events from `from`; an event that means nothing leaves the state as it is. */
function walk(from: WorkerState, ...events: WorkerEvent[]): WorkerState {
  return events.reduce((state, event) => nextState(state, event) ?? state, from);
}

describe('worker states', () => {
  it('watches after start, pauses when full, watches again when drained', () => {
    expect(walk(WorkerState.Idle, 'start')).toBe(WorkerState.Watching);
    expect(walk(WorkerState.Idle, 'start', 'full')).toBe(WorkerState.Paused);
    expect(walk(WorkerState.Idle, 'start', 'full', 'drained')).toBe(WorkerState.Watching);
  });

  it('resyncs from watching or paused, and watches when the resync has read the prefix', () => {
    expect(walk(WorkerState.Idle, 'start', 'resync')).toBe(WorkerState.Resyncing);
    expect(walk(WorkerState.Idle, 'start', 'full', 'resync', 'resynced')).toBe(WorkerState.Watching);
  });

  it('resyncs before it ever watches: a new route whose start position is resync', () => {
    expect(walk(WorkerState.Idle, 'resync')).toBe(WorkerState.Resyncing);
    expect(walk(WorkerState.Idle, 'resync', 'resynced')).toBe(WorkerState.Watching);
  });

  it('ignores a second resync, and back-pressure or draining during a resync', () => {
    for (const event of ['resync', 'full', 'drained', 'start'] as const) {
      expect(nextState(WorkerState.Resyncing, event)).toBeUndefined();
    }
  });

  it('stops from every state, and nothing leaves stopped', () => {
    for (const state of Object.values(WorkerState)) {
      if (state !== WorkerState.Stopped) expect(nextState(state, 'stop')).toBe(WorkerState.Stopped);
    }
    for (const event of EVENTS) expect(nextState(WorkerState.Stopped, event)).toBeUndefined();
  });

  it('runs the watch only while watching', () => {
    expect(Object.values(WorkerState).filter(watches)).toEqual([WorkerState.Watching]);
  });
});
