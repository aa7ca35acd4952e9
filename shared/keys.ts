/**
 * The key grammar of the three records and the config record (DESIGN §1):
 * `<root>/<api>/<collection>/<id>` for any collection.
 */
import { RecordValidationError } from './errors.js';
import { compileKeyPattern, type KeyPattern } from './key-pattern.js';

/** One resource: `v2.0` / `vnf_instances` / `398d65ba-…`. */
export interface ResourceRef {
  readonly api: string;
  readonly collection: string;
  readonly id: string;
}

export type RecordKind = 'heatStack' | 'jobState' | 'state' | 'config';

export const KEY_PATTERNS: Readonly<Record<RecordKind, KeyPattern>> = {
  heatStack: compileKeyPattern('/esi-worker/heat_stacks/{api}/{collection}/{id}'),
  jobState: compileKeyPattern('/esi-worker/job_state/{api}/{collection}/{id}'),
  state: compileKeyPattern('/state/{api}/{collection}/{id}'),
  config: compileKeyPattern('/config/{api}/{collection}/{id}'),
};

/** The resource a key names; throws a RecordValidationError when the key is not of that kind. */
export function parseResourceKey(kind: RecordKind, key: string): ResourceRef {
  const parts = KEY_PATTERNS[kind].match(key);
  if (!parts) {
    throw new RecordValidationError(key, 'key', `is not a ${kind} key (${KEY_PATTERNS[kind].source})`);
  }
  return { api: parts.api!, collection: parts.collection!, id: parts.id! };
}

export function resourceKey(kind: RecordKind, ref: ResourceRef): string {
  return KEY_PATTERNS[kind].build({ api: ref.api, collection: ref.collection, id: ref.id });
}
