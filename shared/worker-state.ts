/**
 * The worker_state table of DESIGN §2: a Heat `stack_status` (ACTION_RESULT) and the previous
 * state record's worker_state give the worker_state the other components read.
 */

export interface WorkerStateOutcome {
  readonly workerState: string;
  /** The stack failed: the state record's `error` carries the heat stack's `status_reason`. */
  readonly failed: boolean;
}

const DIRECT: Readonly<Record<string, WorkerStateOutcome>> = {
  CREATE_COMPLETE: { workerState: 'CREATE_COMPLETED', failed: false },
  UPDATE_COMPLETE: { workerState: 'MODIFY_COMPLETED', failed: false },
  DELETE_COMPLETE: { workerState: 'DELETE_COMPLETED', failed: false },
  CREATE_FAILED: { workerState: 'CREATE_FAILED', failed: true },
  UPDATE_FAILED: { workerState: 'MODIFY_FAILED', failed: true },
  DELETE_FAILED: { workerState: 'DELETE_FAILED', failed: true },
  CREATE_IN_PROGRESS: { workerState: 'CREATE_IN_PROGRESS', failed: false },
  UPDATE_IN_PROGRESS: { workerState: 'MODIFY_IN_PROGRESS', failed: false },
  DELETE_IN_PROGRESS: { workerState: 'DELETE_IN_PROGRESS', failed: false },
};

/** Rollback statuses: the result depends on what the resource was doing before. */
const ROLLBACK: Readonly<Record<string, { suffix: 'FAILED' | 'IN_PROGRESS'; failed: boolean }>> = {
  ROLLBACK_COMPLETE: { suffix: 'FAILED', failed: true },
  ROLLBACK_FAILED: { suffix: 'FAILED', failed: true },
  ROLLBACK_IN_PROGRESS: { suffix: 'IN_PROGRESS', failed: false },
};

/** True when the status has a row in the table; anything else is rejected (dead-lettered). */
export function isKnownStackStatus(stackStatus: string): boolean {
  return Object.hasOwn(DIRECT, stackStatus) || Object.hasOwn(ROLLBACK, stackStatus);
}

/**
 * The worker_state for a stack status, or undefined for a rejected status (`SUSPEND_*`, `CHECK_*`,
 * unknown). A rollback is a MODIFY when the previous worker_state began with `CREATE_` or
 * `MODIFY_`, else a CREATE (the table's rule, kept exactly as the legacy worker applies it).
 */
/** Whether the rule for `stackStatus` reads the previous state record's worker_state (the rollbacks). */
export function readsPreviousWorkerState(stackStatus: string): boolean {
  return Object.hasOwn(ROLLBACK, stackStatus);
}

export function workerStateFor(
  stackStatus: string,
  previousWorkerState?: string,
): WorkerStateOutcome | undefined {
  if (Object.hasOwn(DIRECT, stackStatus)) return DIRECT[stackStatus];
  if (!Object.hasOwn(ROLLBACK, stackStatus)) return undefined;
  const rollback = ROLLBACK[stackStatus]!;
  const wasUnderway =
    previousWorkerState !== undefined &&
    (previousWorkerState.startsWith('CREATE_') || previousWorkerState.startsWith('MODIFY_'));
  return { workerState: `${wasUnderway ? 'MODIFY' : 'CREATE'}_${rollback.suffix}`, failed: rollback.failed };
}
