/**
 * Building the contract's record for one source change: the value decoded as UTF-8 and the route's
 * reads taken from one snapshot. Pure; the route worker and redrive both build records here, so a
 * redriven record is exactly what the bridge would have sent.
 */
import {
  compileKeyPattern,
  type KeyPattern,
  RecordValidationError,
  type Route,
  type StageRecord,
} from '../../shared/index.js';
import { type Failure, failureOf } from '../failure/failure.js';
import type { Snapshot } from '../source/snapshot.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A route's key pattern and read templates, compiled once. */
export class RouteReads {
  readonly pattern: KeyPattern;
  private readonly reads: readonly KeyPattern[];

  constructor(route: Pick<Route, 'keyPattern' | 'reads'>) {
    this.pattern = compileKeyPattern(route.keyPattern);
    this.reads = route.reads.map((template) => compileKeyPattern(template));
  }

  /** The keys the route reads for a change of `sourceKey` (none if the key does not match). */
  keysFor(sourceKey: string): string[] {
    const parts = this.pattern.match(sourceKey);
    return parts ? this.reads.map((read) => read.build(parts)) : [];
  }
}

export interface SourceChange {
  readonly id: string;
  readonly type: 'put' | 'delete';
  readonly key: string;
  /** The raw bytes; null for a delete. */
  readonly value: Buffer | null;
  readonly modRevision: string;
  readonly readKeys: readonly string[];
}

export type BuiltRecord =
  | { readonly ok: true; readonly record: StageRecord }
  /** The change cannot be a contract record (its value is not UTF-8): terminal, no invoke. */
  | { readonly ok: false; readonly failure: Failure };

export function buildStageRecord(change: SourceChange, snapshot: Pick<Snapshot, 'entries'>): BuiltRecord {
  let value: string | null = null;
  if (change.value !== null) {
    try {
      value = decoder.decode(change.value);
    } catch {
      return {
        ok: false,
        failure: failureOf(new RecordValidationError(change.key, 'value', 'is not valid UTF-8')),
      };
    }
  }
  // The records read are decoded as the record itself is (a leading BOM dropped, invalid UTF-8
  // refused), never patched with U+FFFD: a state record must not carry bytes its sources lacked.
  const reads: Record<string, string | null> = {};
  for (const key of change.readKeys) {
    const entry = snapshot.entries.get(key);
    if (!entry) {
      reads[key] = null;
      continue;
    }
    try {
      reads[key] = decoder.decode(entry.value);
    } catch {
      return {
        ok: false,
        failure: failureOf(
          new RecordValidationError(key, 'value', `is not valid UTF-8 (read for ${change.key})`),
        ),
      };
    }
  }
  return {
    ok: true,
    record: {
      id: change.id,
      type: change.type,
      key: change.key,
      value,
      modRevision: change.modRevision,
      reads,
    },
  };
}
