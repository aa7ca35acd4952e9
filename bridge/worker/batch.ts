/**
 * One batch of a route: one snapshot read (each record's applied marker and what the route reads
 * for it), the records already applied set aside, the rest built into contract records and sent to
 * the function in one invocation. Returns each record's step result for `settle`; decides nothing.
 *
 * A route that reads nothing (stage heat-stacks) reads no markers either, for records that cannot
 * have been applied yet (`mayBeApplied` false: newer than this bridge's leadership, not from a
 * resync). The read would only set aside records applied already, and the commit's marker compare
 * would find those anyway (`Committer.markerCompare`). That takes a round trip to etcd off every
 * such batch in steady flow, while a restart's or a resync's redelivered records are still set
 * aside without being invoked. Should an applied record come unread all the same, one that fails
 * is checked against its marker before it is dead-lettered or blocks (`RouteWorker.unlessApplied`).
 */
import type { StageRecord, StageRequest, StageResponse } from '../../shared/index.js';
import { type Failure, failureOf, failureOfRecord } from '../failure/failure.js';
import { buildStageRecord } from '../invoke/stage-record.js';
import type { Snapshot } from '../source/snapshot.js';
import type { WorkItem } from './item.js';
import type { StepResult } from './settle.js';

export interface BatchDeps {
  readonly route: string;
  readonly functionName: string;
  readSnapshot(keys: readonly string[]): Promise<Snapshot>;
  invoke(functionName: string, request: StageRequest): Promise<StageResponse>;
  markerKey(item: WorkItem): string;
  readKeys(item: WorkItem): readonly string[];
  /**
   * Whether the record may have been applied already (a resync's, or older than this bridge's
   * leadership): then its marker is read even if the route reads nothing else. Absent: always.
   */
  mayBeApplied?(item: WorkItem): boolean;
  /** The invocation's outcome, for latency and error counts. */
  onInvoked?(seconds: number, failure: Failure | undefined): void;
}

export interface ItemResult {
  readonly item: WorkItem;
  readonly result: StepResult;
}

/** What a batch of a route that reads nothing is built from: no entries, no markers. */
const NOTHING_READ: Snapshot = { revision: 0n, entries: new Map() };

export async function runBatch(items: readonly WorkItem[], deps: BatchDeps): Promise<ItemResult[]> {
  // 1. One snapshot: each record's applied marker and the keys the route reads for it.
  const readKeys = new Map(items.map((item) => [item, deps.readKeys(item)]));
  const readsSomething = items.some(
    (item) => readKeys.get(item)!.length > 0 || (deps.mayBeApplied?.(item) ?? true),
  );
  let snapshot: Snapshot = NOTHING_READ;
  try {
    if (readsSomething)
      snapshot = await deps.readSnapshot(
        items.flatMap((item) => [deps.markerKey(item), ...readKeys.get(item)!]),
      );
  } catch (error) {
    const failure = failureOf(error);
    return items.map((item) => ({ item, result: { kind: 'failed', step: 'read', failure } }));
  }
  // 2. Set aside what is applied already; turn the rest into contract records.
  const { results, records, byId } = prepare(items, readsSomething ? snapshot : undefined, readKeys, deps);
  if (records.length === 0) return results;
  // 3. One invocation for the rest.
  return [...results, ...(await invoke(records, byId, deps))];
}

interface Prepared {
  /** Records settled without the function: applied already, or not a contract record. */
  readonly results: ItemResult[];
  readonly records: StageRecord[];
  readonly byId: ReadonlyMap<string, WorkItem>;
}

/** `snapshot` undefined: nothing was read (markers unknown, no record set aside). */
function prepare(
  items: readonly WorkItem[],
  snapshot: Snapshot | undefined,
  readKeys: ReadonlyMap<WorkItem, readonly string[]>,
  deps: BatchDeps,
): Prepared {
  const results: ItemResult[] = [];
  const records: StageRecord[] = [];
  const byId = new Map<string, WorkItem>();
  for (const item of items) {
    if (snapshot && markerSaysApplied(item, snapshot, deps.markerKey(item))) {
      results.push({ item, result: { kind: 'applied-already' } });
      continue;
    }
    const id = String(records.length);
    const change = {
      id,
      type: item.type,
      key: item.key,
      value: item.value,
      modRevision: item.revision.toString(),
    };
    const built = buildStageRecord(
      { ...change, readKeys: readKeys.get(item) ?? [] },
      snapshot ?? NOTHING_READ,
    );
    if (!built.ok) {
      results.push({ item, result: { kind: 'failed', step: 'record', failure: built.failure } });
      continue;
    }
    byId.set(id, item);
    records.push(built.record);
  }
  return { results, records, byId };
}

/**
 * Whether the snapshot's marker of `item` says it is applied already; either way the item keeps the
 * marker's mod revision for its commit's compare.
 */
export function markerSaysApplied(item: WorkItem, snapshot: Snapshot, markerKey: string): boolean {
  const marker = snapshot.entries.get(markerKey) ?? null;
  item.markerModRevision = marker?.modRevision ?? '0';
  return marker !== null && BigInt(marker.value.toString('utf8')) >= item.revision;
}

/** Each record's answer, or the invocation's failure for every one of them. */
async function invoke(
  records: StageRecord[],
  byId: ReadonlyMap<string, WorkItem>,
  deps: BatchDeps,
): Promise<ItemResult[]> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  let response: StageResponse;
  try {
    response = await deps.invoke(deps.functionName, { route: deps.route, records });
  } catch (error) {
    const failure = failureOf(error);
    deps.onInvoked?.(seconds(), failure);
    return [...byId.values()].map((item) => ({ item, result: { kind: 'failed', step: 'invoke', failure } }));
  }
  deps.onInvoked?.(seconds(), undefined);
  const results: ItemResult[] = [];
  for (const result of response.results) {
    const item = byId.get(result.id);
    if (item) results.push({ item, result: { kind: 'answered', mutations: result.mutations } });
  }
  for (const failure of response.batchItemFailures) {
    const item = byId.get(failure.itemIdentifier);
    if (item)
      results.push({ item, result: { kind: 'failed', step: 'record', failure: failureOfRecord(failure) } });
  }
  return results;
}
