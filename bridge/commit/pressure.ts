/**
 * etcd under pressure (DESIGN invariant 9): out of space (the NOSPACE alarm) or shedding load
 * ("too many requests"). That is no verdict on any record: commits pause with backoff and resume by
 * themselves once etcd takes writes again; nothing is dead-lettered for it.
 *
 * An episode runs from the first commit etcd refuses so to the next one it takes. It is logged once
 * when it begins (with what the operator must do) and once when it ends, and is visible meanwhile
 * in status and /metrics.
 */
import { errorMessage } from '../errors.js';
import type { Classification, FailureReason } from '../failure/classify.js';

export interface PressureEpisode {
  readonly reason: FailureReason;
  /** etcd's own words, e.g. "etcdserver: mvcc: database space exceeded". */
  readonly message: string;
  readonly since: Date;
  /** What, if anything, the operator must do. */
  readonly advice: string;
}

export type PressureLog = (
  level: 'info' | 'warn' | 'error',
  message: string,
  fields: Record<string, unknown>,
) => void;

export function operatorAdvice(reason: FailureReason): string {
  switch (reason) {
    case 'etcd-no-space':
      return (
        'etcd is out of space (NOSPACE alarm): free it, then disarm the alarm — ' +
        '`etcdctl compact <current revision>`, `etcdctl defrag` on every member, `etcdctl alarm disarm` ' +
        '(or raise --quota-backend-bytes). The bridge resumes by itself.'
      );
    case 'etcd-too-many-requests':
      return 'etcd sheds load (too many requests); commits back off and resume by themselves.';
    default:
      return 'etcd refuses writes for lack of resources; commits back off and resume by themselves.';
  }
}

export class CommitPressure {
  private episode: PressureEpisode | undefined;

  constructor(private readonly log: PressureLog = () => {}) {}

  /** The episode under way, if any. */
  get current(): PressureEpisode | undefined {
    return this.episode;
  }

  /** etcd refused a commit for pressure. Only the first refusal of an episode is logged. */
  refused(classification: Classification, error: unknown, now = new Date()): void {
    if (this.episode?.reason === classification.reason) return;
    this.episode = {
      reason: classification.reason,
      message: errorMessage(error),
      since: now,
      advice: operatorAdvice(classification.reason),
    };
    this.log('error', 'commits paused: etcd refuses writes', {
      reason: this.episode.reason,
      error: this.episode.message,
      action: this.episode.advice,
    });
  }

  /** etcd took a write: the episode, if any, is over. */
  accepted(now = new Date()): void {
    if (!this.episode) return;
    this.log('info', 'commits resumed: etcd takes writes again', {
      reason: this.episode.reason,
      pausedSeconds: (now.getTime() - this.episode.since.getTime()) / 1000,
    });
    this.episode = undefined;
  }
}
