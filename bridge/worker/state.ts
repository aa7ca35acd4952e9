/**
 * The route worker's states, named, with every transition in one table (as etcd3's watcher names
 * its states instead of inferring them from flags).
 *
 *   idle ──start──▶ watching ──full──▶ paused ──drained──▶ watching
 *                      │                  │
 *                      └──resync──▶ resyncing ◀──resync──┘
 *                                      └──resynced──▶ watching
 *   idle ──resync──▶ resyncing        (a new route whose start position is `resync`)
 *   any ──stop──▶ stopped
 *
 * The watch runs only in `watching`: back-pressure and a resync stop it, and it resumes from its
 * own revision (or from the resync's), so nothing is buffered.
 */
export enum WorkerState {
  /** Built, not started. */
  Idle = 'idle',
  /** The watch runs; changes flow into the queue. */
  Watching = 'watching',
  /** Back-pressure: the queue is full, the watch is stopped until it drains to half. */
  Paused = 'paused',
  /** Reading the whole prefix at the head (compaction, start position `resync`); no watch. */
  Resyncing = 'resyncing',
  /** Takes nothing new; batches in flight finish. */
  Stopped = 'stopped',
}

export type WorkerEvent = 'start' | 'full' | 'drained' | 'resync' | 'resynced' | 'stop';

const TRANSITIONS: Readonly<Record<WorkerState, Partial<Record<WorkerEvent, WorkerState>>>> = {
  [WorkerState.Idle]: {
    start: WorkerState.Watching,
    // A new route whose start position is `resync`: it reads the prefix before it watches.
    resync: WorkerState.Resyncing,
    stop: WorkerState.Stopped,
  },
  [WorkerState.Watching]: {
    full: WorkerState.Paused,
    resync: WorkerState.Resyncing,
    stop: WorkerState.Stopped,
  },
  [WorkerState.Paused]: {
    drained: WorkerState.Watching,
    resync: WorkerState.Resyncing,
    stop: WorkerState.Stopped,
  },
  [WorkerState.Resyncing]: { resynced: WorkerState.Watching, stop: WorkerState.Stopped },
  [WorkerState.Stopped]: {},
};

/** The state `event` leads to from `state`; undefined when the event means nothing there. */
export function nextState(state: WorkerState, event: WorkerEvent): WorkerState | undefined {
  return TRANSITIONS[state][event];
}

/** True in the states where the watch runs. */
export function watches(state: WorkerState): boolean {
  return state === WorkerState.Watching;
}
