import type { Mutation, StageRecord } from '../contract.js';

/** A pure stage: one record in, the writes to make out. Throws a TransformError for bad input. */
export interface Stage {
  readonly name: string;
  transform(record: StageRecord): Mutation[];
}
