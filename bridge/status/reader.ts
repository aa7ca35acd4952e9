/**
 * The operator's half of `etcd-bridge status`: reads a group's status from etcd alone — the
 * checkpoints, the head revision, the election, the dead-letter counts, and the status the leader
 * published (bridge/status/publisher.ts). Works with no bridge running.
 *
 * A route's lag is the leader's published figure while that status is fresh, the very figure
 * /metrics and the EMF lines give; without a fresh one it is read from etcd the same way the
 * leader reads it (bridge/status/lag.ts), from the route's stored checkpoint.
 */
import type { Etcd3 } from 'etcd3';
import { compileKeyPattern } from '../../shared/key-pattern.js';
import type { DeadLetterQueue } from '../dlq/sink.js';
import { errorMessage } from '../errors.js';
import { prefixRangeEnd } from '../etcd/ops.js';
import { BOOKKEEPING_ROOT, type Keyspace } from '../keyspace.js';
import { keysChangedAfter } from './lag.js';
import {
  type BridgeProgress,
  type PublishedStatus,
  PublishedStatusSchema,
  type RouteStatus,
  STATUS_STALE_MS,
  statusKey,
} from './schema.js';

export interface RouteReport {
  route: string;
  /** Highest revision the route has fully handled (from etcd); null before it ever started. */
  checkpoint: string | null;
  headRevision: string;
  /** Revisions under the route's prefix not processed yet; null when it cannot be known. */
  lag: string | null;
  /** Where `lag` comes from: the leader's fresh status, or etcd from the stored checkpoint. */
  lagFrom: 'leader' | 'checkpoint' | null;
  /** Records the leader holds for the route; null without a fresh published status. */
  inFlight: number | null;
  inFlightBatches: number | null;
  /** Records in the route's dead-letter queue; null when the queue could not be asked. */
  deadLettered: number | null;
  deadLetterError?: string;
  /** As the leader published it, stale or not; absent when it never did. */
  published?: RouteStatus;
}

export interface StatusReport {
  /** The group this report is about. */
  group: string;
  headRevision: string;
  /** The bridge id elected now (from the election keys); null when none leads. */
  leader: string | null;
  /** The leader's last published status: who, when, and whether it is too old to trust. */
  published: { bridgeId: string; publishedAt: string; ageMs: number; stale: boolean } | null;
  deadLetterSink: 'etcd' | 'sqs';
  routes: RouteReport[];
  /** The leader's own counters (lease keep-alive failovers, failed commits), as it last published them. */
  progress?: BridgeProgress;
  /** When the group has no leader: every group that has bookkeeping in etcd (perhaps the one meant). */
  groupsInEtcd?: string[];
}

/** A route as the reader needs it: its name and the key pattern whose head is its prefix. */
export interface RouteRef {
  readonly name: string;
  readonly keyPattern: string;
}

/** Read the status of a group: etcd's own bookkeeping, the election, the DLQ and the published status. */
export async function readStatus(options: {
  client: Etcd3;
  keyspace: Keyspace;
  group: string;
  /** Routes of the configuration; routes only the published status names are added. */
  routes: readonly RouteRef[];
  queue: DeadLetterQueue;
  now?: number;
}): Promise<StatusReport> {
  const { client, keyspace, queue } = options;
  const now = options.now ?? Date.now();

  const stored = await client.get(statusKey(keyspace)).exec();
  const head = stored.header.revision;
  const published = parsePublished(stored.kvs[0]?.value.toString('utf8'));
  const leader = await electedLeader(client, keyspace, head);

  const ageMs = published ? now - Date.parse(published.publishedAt) : 0;
  const stale = !published || ageMs > STATUS_STALE_MS || published.bridgeId !== leader;
  const prefixes = new Map(options.routes.map((r) => [r.name, compileKeyPattern(r.keyPattern).prefix]));
  for (const r of published?.routes ?? []) if (!prefixes.has(r.route)) prefixes.set(r.route, r.prefix);

  const routes: RouteReport[] = [];
  for (const [name, prefix] of prefixes) {
    const checkpointText = (
      await client.get(keyspace.checkpoint(name)).revision(head).exec()
    ).kvs[0]?.value.toString('utf8');
    const checkpoint = checkpointText === undefined ? null : BigInt(checkpointText).toString();
    const fromLeader = published?.routes.find((r) => r.route === name);
    let lag: string | null = null;
    let lagFrom: RouteReport['lagFrom'] = null;
    if (fromLeader && !stale) {
      lag = fromLeader.lagRevisions;
      lagFrom = 'leader';
    } else if (checkpoint !== null) {
      lag = String(await keysChangedAfter(client, prefix, BigInt(checkpoint)));
      lagFrom = 'checkpoint';
    }
    let deadLettered: number | null = null;
    let deadLetterError: string | undefined;
    try {
      deadLettered = await queue.count(name);
    } catch (error) {
      deadLetterError = errorMessage(error);
    }
    routes.push({
      route: name,
      checkpoint,
      headRevision: head,
      lag,
      lagFrom,
      inFlight: fromLeader && !stale ? fromLeader.held : null,
      inFlightBatches: fromLeader && !stale ? fromLeader.inFlightBatches : null,
      deadLettered,
      ...(deadLetterError === undefined ? {} : { deadLetterError }),
      ...(fromLeader ? { published: fromLeader } : {}),
    });
  }
  return {
    group: options.group,
    headRevision: head,
    leader,
    published: published
      ? { bridgeId: published.bridgeId, publishedAt: published.publishedAt, ageMs, stale }
      : null,
    deadLetterSink: queue.kind,
    routes,
    ...(published?.bridge ? { progress: published.bridge } : {}),
    ...(leader === null ? { groupsInEtcd: await listGroups(client) } : {}),
  };
}

/** The longest-standing candidate of the group's election, as of `revision`; null when none. */
async function electedLeader(client: Etcd3, keyspace: Keyspace, revision: string): Promise<string | null> {
  const electionPrefix = `${keyspace.root}election/leader/`;
  const election = await client.kv.range({
    key: Buffer.from(electionPrefix, 'utf8'),
    range_end: prefixRangeEnd(electionPrefix),
    sort_target: 'Create',
    sort_order: 'Ascend',
    limit: 1,
    revision,
  });
  return election.kvs[0]?.value.toString('utf8') ?? null;
}

/** At most this many groups are listed: enough to spot a mistyped `--group`. */
const MAX_GROUPS_LISTED = 50;

/**
 * The groups that have bookkeeping under /_etcd-bridge/, in key order. One key read per group:
 * after each group found, the next read starts past all of that group's keys.
 */
export async function listGroups(client: Etcd3): Promise<string[]> {
  const groups: string[] = [];
  let from: Buffer = Buffer.from(BOOKKEEPING_ROOT, 'utf8');
  const end = prefixRangeEnd(BOOKKEEPING_ROOT);
  while (groups.length < MAX_GROUPS_LISTED) {
    const res = await client.kv.range({ key: from, range_end: end, limit: 1, keys_only: true });
    const key = res.kvs[0]?.key.toString('utf8');
    if (key === undefined) break;
    const group = key.slice(BOOKKEEPING_ROOT.length).split('/')[0]!;
    groups.push(group);
    from = prefixRangeEnd(`${BOOKKEEPING_ROOT}${group}/`);
  }
  return groups;
}

function parsePublished(text: string | undefined): PublishedStatus | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = PublishedStatusSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The line `status` adds when the group it looked at has no leader: which groups etcd does hold,
 * since a wrong `--group` (dev runs as "dev") looks exactly like a bridge that is down.
 */
export function noLeaderHint(
  report: Pick<StatusReport, 'group' | 'leader' | 'groupsInEtcd'>,
): string | undefined {
  if (report.leader !== null || report.groupsInEtcd === undefined) return undefined;
  const others = report.groupsInEtcd.filter((g) => g !== report.group);
  if (report.groupsInEtcd.length === 0) return `no bridge group has ever run against this etcd`;
  if (others.length === 0) return `group ${report.group} has no leader now (no other group found in etcd)`;
  return `group ${report.group} has no leader now; groups found in etcd: ${others.join(', ')} (choose one with --group)`;
}
