/**
 * The one decision about a record: given what its last step gave (an answer, a commit, a failure),
 * what happens next. Pure — the route worker switches on the outcome once (as controller-runtime's
 * `reconcileHandler` switches on a reconcile result), so every path a record can take is here.
 *
 *   step result                      outcome
 *   applied already (marker ≥ rev)   finish (skipped)
 *   answered, nothing to write       finish (noop)
 *   answered with mutations          commit
 *   committed / already applied      finish (committed / skipped)
 *   dead-lettered                    finish (deadLettered / skipped)
 *   interrupted by a stop            leave it unfinished (redelivered after the restart)
 *   failed: fatal                    stop the bridge
 *   failed in the dead-letter step   stop the bridge (nowhere left to put it)
 *   failed: retry, etcd's fault      retry after backoff, the attempt not counted
 *   failed: retry, within policy     retry after the policy's backoff
 *   failed: terminal or exhausted    dead-letter, or block if the route says `block`
 */
import type { Mutation, Route } from '../../shared/index.js';
import type { CommitOutcome } from '../commit/committer.js';
import type { Failure } from '../failure/failure.js';
import { decideRetry } from '../failure/retry-decision.js';
import type { WorkItem } from './item.js';

/**
 * Where in a record's path a failure happened: the snapshot read, the record itself (its value, or
 * the function's answer for it), the invocation as a whole, its commit, its dead-letter delivery.
 */
export type Step = 'read' | 'record' | 'invoke' | 'commit' | 'dead-letter';

export type StepResult =
  | { readonly kind: 'applied-already' }
  | { readonly kind: 'answered'; readonly mutations: readonly Mutation[] }
  | { readonly kind: 'committed'; readonly outcome: CommitOutcome }
  | { readonly kind: 'dead-lettered'; readonly outcome: CommitOutcome }
  /** The route stopped while the record waited (a dead-letter queue that refused until then). */
  | { readonly kind: 'interrupted' }
  | { readonly kind: 'failed'; readonly step: Step; readonly failure: Failure };

/** The counter a finished record adds to. */
export type Finish = 'skipped' | 'noop' | 'committed' | 'deadLettered';

export type Outcome =
  | { readonly kind: 'finish'; readonly as: Finish }
  | { readonly kind: 'commit'; readonly mutations: readonly Mutation[] }
  /** Try again after `delayMs`; `counted` false when the failure was not the record's. */
  | { readonly kind: 'retry'; readonly delayMs: number; readonly counted: boolean }
  | { readonly kind: 'block'; readonly delayMs: number; readonly failure: Failure }
  | { readonly kind: 'dead-letter'; readonly failure: Failure; readonly reason: string }
  /** Left unfinished: delivered again after the restart (never lost, never finished twice). */
  | { readonly kind: 'leave' }
  | { readonly kind: 'stop'; readonly failure: Failure };

export interface SettleContext {
  readonly route: Pick<Route, 'retry' | 'onFailure'>;
  readonly item: Pick<WorkItem, 'attempts' | 'firstAttemptAt'>;
  readonly now: number;
  /** The wait after a read etcd did not answer: the route's read backoff (it grows with the
   * batches failing in a row, not with one record's attempts, which a read failure does not spend). */
  readonly readRetryDelayMs: number;
  readonly random?: () => number;
}
/** How often a blocked key is tried again (the function may be fixed meanwhile), at the least. */
export const MIN_BLOCKED_RETRY_MS = 1_000;

export function settle(result: StepResult, context: SettleContext): Outcome {
  switch (result.kind) {
    case 'applied-already':
      return { kind: 'finish', as: 'skipped' };
    case 'answered':
      return result.mutations.length === 0
        ? // Nothing to write (a placeholder, an ignored delete): committing nothing twice is
          // harmless, so no marker is needed; the checkpoint moves past it with the next commit.
          { kind: 'finish', as: 'noop' }
        : { kind: 'commit', mutations: result.mutations };
    case 'committed':
      return { kind: 'finish', as: result.outcome === 'committed' ? 'committed' : 'skipped' };
    case 'dead-lettered':
      return { kind: 'finish', as: result.outcome === 'committed' ? 'deadLettered' : 'skipped' };
    case 'interrupted':
      return { kind: 'leave' };
    case 'failed':
      return settleFailure(result.step, result.failure, context);
  }
}

function settleFailure(step: Step, failure: Failure, context: SettleContext): Outcome {
  if (failure.verdict === 'fatal' || step === 'dead-letter') return { kind: 'stop', failure };
  const { route, item, now, random } = context;
  if (failure.verdict === 'retry' && step === 'read') {
    // etcd's fault, not the record's: the attempt is given back, so it never exhausts the policy.
    return { kind: 'retry', delayMs: context.readRetryDelayMs, counted: false };
  }
  const decision = decideRetry(route.retry, item, failure.verdict, now, random);
  if (decision.action === 'retry') return { kind: 'retry', delayMs: decision.delayMs, counted: true };
  if (route.onFailure === 'block') {
    return { kind: 'block', delayMs: Math.max(MIN_BLOCKED_RETRY_MS, route.retry.maxDelayMs), failure };
  }
  return { kind: 'dead-letter', failure, reason: decision.reason };
}
