/**
 * The soak's faults, one at a time, in an order and with gaps and durations drawn from a seeded
 * PRNG (the same seed gives the same plan; how the processes interleave with it is up to the OS):
 *
 * - sigkill: SIGKILL of the leading bridge; the supervisor starts it again after 0.1–2 s. With two
 *   bridges the other one takes over once the dead one's lease expires.
 * - etcd-restart: SIGKILL of etcd, down 0.5–3 s, started again on the same ports and data.
 * - cut-reset: the proxy between the bridges and etcd resets every connection and refuses new ones
 *   for 0.5–4 s.
 * - cut-blackhole: the proxy stops forwarding bytes without telling anyone for 1–6 s (longer than
 *   the lease TTL at the top of that range: leadership may be lost, and the bridge then exits 3).
 * - sigstop: SIGSTOP of the leading bridge for its lease TTL + 0.5–2.5 s; the other bridge (if
 *   any) is elected meanwhile. Then a fencing window: once the frozen bridge's election key is gone,
 *   every other bridge is frozen too, the deposed one is continued (SIGCONT), and until it has
 *   exited (at most 1.5 s) nothing else runs; the revisions etcd made in that window are handed to
 *   the checker, which requires that no pipeline write is among them. The deposed bridge must exit
 *   with code 3 (leadership lost) within the window: one still running when the others are
 *   continued is a problem (its later commits would be judged as nobody's); one that hangs instead
 *   is killed by the supervisor (cluster.ts) and counted as hung.
 *
 * With `--members 3` (a 3-member cluster, test/helpers/etcd-cluster.ts) three more kinds, and the
 * two above apply to the whole cluster (etcd-restart: every member killed and restarted; cut-*: the
 * proxies in front of every member cut at once):
 *
 * - member-kill: SIGKILL of one member (the raft leader half of the time), down 0.5–5 s, restarted.
 * - member-cutoff: one member cut off from its peers for 3–20 s while clients still reach it
 *   (longer than the lease TTL: the leader's keep-alive must move to another member in time).
 * - leader-move: `etcdctl move-leader` to the next member.
 *
 * And, with either, nospace (etcd out of space, the NOSPACE alarm), when the soak starts etcd with a
 * `--quota-backend-bytes` (run.ts does when the kind is drawn): a filler client puts big values
 * under FILLER_PREFIX (no route watches it) until etcd refuses a put with "database space
 * exceeded" — the alarm is then raised cluster-wide while the writer's records are in flight, and
 * every put and every commit transaction fails. It holds the alarm for 2–6 s, then does what an
 * operator does: deletes the filler, compacts at that revision (`etcdctl compact --physical`),
 * defragments every member one by one, `etcdctl alarm disarm`. Compaction takes the history the
 * checker reads from revision 1, so before compacting the fault has the soak read the history so
 * far (`beforeCompact`, run.ts's HistoryRecorder). After the disarm it waits (up to 60 s) until
 * every route's checkpoint has passed the compaction revision: a bridge that started afterwards
 * from an older checkpoint would find its revision compacted and resync, skipping intermediate
 * revisions (DESIGN: what compaction costs), which is the operator's doing, not the bridge's.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';
import type { EmbeddedEtcd } from '../../bridge/etcd/embedded-etcd.js';
import { findEtcdctl } from '../../bridge/etcd/find-etcd.js';
import { keyspaceFor } from '../../bridge/keyspace.js';
import type { BridgeProcess, ExitStatus } from '../helpers/bridge-process.js';
import { currentRevision, testClientOptions } from '../helpers/etcd.js';
import type { EtcdCluster } from '../helpers/etcd-cluster.js';
import type { TcpProxy } from '../helpers/tcp-proxy.js';
import { seededRandom } from '../helpers/workload.js';
import type { FenceWindow } from './check.js';
import { type BridgeSupervisor, HUNG_AFTER_MS } from './cluster.js';
import { sleep } from './writer.js';

const run = promisify(execFile);

/** The faults of a single-member soak (the default). */
export const SINGLE_FAULT_KINDS = [
  'sigkill',
  'etcd-restart',
  'cut-reset',
  'cut-blackhole',
  'sigstop',
  'nospace',
] as const;
/** The kinds before nospace (what the 20 s soak of `npm test` draws from). */
export const CLASSIC_FAULT_KINDS = SINGLE_FAULT_KINDS.filter((kind) => kind !== 'nospace');
/** Where the nospace fault's filler goes: under no route's prefix, outside the bridge's keyspace. */
export const FILLER_PREFIX = '/soak-filler/';
/** Faults only a cluster can have. */
export const CLUSTER_FAULT_KINDS = ['member-kill', 'member-cutoff', 'leader-move'] as const;
export const FAULT_KINDS = [...SINGLE_FAULT_KINDS, ...CLUSTER_FAULT_KINDS] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** sigstop: how long the deposed bridge has, once continued, to exit alone in its fencing window. */
export const DEPOSED_EXIT_MS = 1_500;

export interface PlannedFault {
  readonly kind: FaultKind;
  /** Wait before it. */
  readonly gapMs: number;
  /** sigkill: respawn delay; etcd-restart, member-kill: time down; cut-*, member-cutoff: time cut; sigstop: time frozen; nospace: alarm held. */
  readonly durationMs: number;
  /** member-kill, member-cutoff: in [0, 1), which member (the raft leader when below 0.5, else another). */
  readonly pick: number;
}

export interface FaultRecord extends PlannedFault {
  readonly index: number;
  /** ms since the soak started. */
  startMs: number;
  endMs: number;
  /** False when it could not be injected (e.g. no leader to kill); see `note`. */
  injected: boolean;
  note?: string;
  /** sigstop: how long until another bridge was elected. */
  takeoverMs?: number;
  /** sigstop: the fencing window and how the deposed bridge ended. */
  window?: FenceWindow;
  deposedExit?: ExitStatus | 'still running';
  /** nospace: what happened, step by step. */
  nospace?: NospaceRecord;
}

export interface NospaceRecord {
  /** etcd's db size (the largest member's) when the fault began, and after the defragmentation. */
  dbSizeBefore: number;
  dbSizeAfter?: number;
  /** Filler puts acknowledged before etcd refused one for space. */
  fillerPuts: number;
  fillMs: number;
  /** Whether the NOSPACE alarm was listed (`etcdctl alarm list`) before the operator's steps. */
  alarmRaised: boolean;
  compactRevision?: number;
  /** ms from the start of the operator's steps (delete) to the disarm. */
  repairMs?: number;
  /** ms from the disarm until every route's checkpoint had passed the compaction revision (undefined: not within 60 s). */
  caughtUpMs?: number;
  /** Lines "commits paused" / "commits resumed" logged by running bridges during the fault. */
  pausedLogged: number;
  resumedLogged: number;
}

/** Endless plan: rounds in which every kind comes once, in a shuffled order. */
export function* faultPlan(seed: number, kinds: readonly FaultKind[], leaseTtlSeconds: number) {
  const random = seededRandom(seed ^ 0x2545f491);
  const between = (min: number, max: number) => Math.round(min + random() * (max - min));
  for (;;) {
    const round = [...kinds];
    for (let i = round.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [round[i], round[j]] = [round[j]!, round[i]!];
    }
    for (const kind of round) {
      const gapMs = between(1_000, 4_000);
      const durations: Record<FaultKind, () => number> = {
        sigkill: () => between(100, 2_000),
        'etcd-restart': () => between(500, 3_000),
        'cut-reset': () => between(500, 4_000),
        'cut-blackhole': () => between(1_000, 6_000),
        sigstop: () => leaseTtlSeconds * 1_000 + between(500, 2_500),
        'member-kill': () => between(500, 5_000),
        'member-cutoff': () => between(3_000, 20_000),
        'leader-move': () => 0,
        nospace: () => between(2_000, 6_000),
      };
      const durationMs = durations[kind]();
      const fault: PlannedFault = { kind, gapMs, durationMs, pick: random() };
      yield fault;
    }
  }
}

export interface InjectorDeps {
  /** The single member; for a cluster, every member (etcd-restart kills and restarts them all). */
  etcd: EmbeddedEtcd[];
  /** The cluster, when the soak runs one (member faults need it). */
  cluster?: EtcdCluster;
  /** Told which member a fault is about to disturb (undefined when it is over), so the writers avoid it. */
  onVictim?(member: number | undefined): void;
  /** A client straight to etcd (not through the proxy). */
  client: Etcd3;
  /** The proxies between the bridges and etcd (one per member). */
  proxies: TcpProxy[];
  supervisor: BridgeSupervisor;
  group: string;
  leaseTtlSeconds: number;
  startedAt: number;
  /** nospace: etcd's --quota-backend-bytes (the fault is skipped without one). */
  quotaBackendBytes?: number;
  /** nospace: called with the revision about to be compacted, before compacting (read the history up to it). */
  beforeCompact?(revision: number): Promise<void>;
  log(line: string): void;
}

export class FaultInjector {
  readonly faults: FaultRecord[] = [];
  readonly windows: FenceWindow[] = [];
  /** Problems seen while injecting (a deposed bridge that did not exit 3). */
  readonly problems: string[] = [];
  private current: FaultRecord | undefined;

  constructor(
    private readonly deps: InjectorDeps,
    private readonly plan: Iterator<PlannedFault>,
  ) {}

  /** "#3 cut-reset" for the fault now running or last run. */
  describeCurrent(): string | undefined {
    const fault = this.current ?? this.faults.at(-1);
    return fault ? `#${fault.index} ${fault.kind}` : undefined;
  }

  /** Injects faults until `endsAt` (a fault running then is finished, never left half-done). */
  async run(endsAt: number): Promise<void> {
    for (;;) {
      const next = this.plan.next();
      if (next.done) return;
      const planned = next.value;
      const wait = Math.min(planned.gapMs, endsAt - Date.now());
      if (wait > 0) await sleep(wait);
      if (Date.now() + 500 >= endsAt) return;
      const record: FaultRecord = {
        ...planned,
        index: this.faults.length + 1,
        startMs: this.elapsed(),
        endMs: 0,
        injected: true,
      };
      this.current = record;
      this.faults.push(record);
      try {
        await this.inject(record);
      } finally {
        record.endMs = this.elapsed();
        this.current = undefined;
        this.deps.log(
          `fault #${record.index} ${record.kind} ${record.durationMs} ms${record.injected ? '' : ' (not injected)'}${record.note ? `: ${record.note}` : ''}`,
        );
      }
    }
  }

  private elapsed(): number {
    return Date.now() - this.deps.startedAt;
  }

  private async inject(fault: FaultRecord): Promise<void> {
    const { etcd, proxies, supervisor } = this.deps;
    switch (fault.kind) {
      case 'sigkill': {
        const leader = await supervisor.waitForLeader(20_000);
        if (!leader) return this.skip(fault, 'no leader within 20 s');
        fault.note = leader.name;
        await supervisor.kill(leader, fault.durationMs);
        return;
      }
      case 'etcd-restart': {
        await Promise.all(etcd.map((member) => member.kill()));
        await sleep(fault.durationMs);
        // Members of a cluster must come back together: none is healthy before a quorum is.
        await Promise.all(etcd.map((member) => restartEtcd(member)));
        return;
      }
      case 'cut-reset':
      case 'cut-blackhole': {
        for (const proxy of proxies) proxy.cut(fault.kind === 'cut-reset' ? 'reset' : 'blackhole');
        try {
          await sleep(fault.durationMs);
        } finally {
          for (const proxy of proxies) proxy.restore();
        }
        return;
      }
      case 'sigstop':
        return this.sigstop(fault);
      case 'nospace':
        return this.nospace(fault);
      case 'member-kill':
      case 'member-cutoff':
      case 'leader-move':
        return this.memberFault(fault);
    }
  }

  private async memberFault(fault: FaultRecord): Promise<void> {
    const { cluster } = this.deps;
    if (!cluster) return this.skip(fault, 'no cluster (--members 3)');
    const leader = await cluster.leader().catch(() => undefined);
    if (leader === undefined) return this.skip(fault, 'no raft leader');
    if (fault.kind === 'leader-move') {
      const to = await cluster.moveLeader();
      fault.note = `m${leader} -> m${to}`;
      return;
    }
    const size = cluster.members.length;
    const victim =
      fault.pick < 0.5 ? leader : (leader + 1 + Math.floor(((fault.pick - 0.5) / 0.5) * (size - 1))) % size;
    fault.note = `m${victim}${victim === leader ? ' (raft leader)' : ''}`;
    this.deps.onVictim?.(victim);
    try {
      if (fault.kind === 'member-kill') {
        await cluster.kill(victim);
        await sleep(fault.durationMs);
        await restartEtcd(cluster.members[victim]!.etcd);
      } else {
        cluster.cutOff(victim);
        try {
          await sleep(fault.durationMs);
        } finally {
          cluster.heal(victim);
        }
      }
    } finally {
      this.deps.onVictim?.(undefined);
    }
  }

  /** etcd out of space: fill until the alarm, hold, then delete, compact, defragment, disarm. */
  private async nospace(fault: FaultRecord): Promise<void> {
    const { etcd, quotaBackendBytes, supervisor } = this.deps;
    if (!quotaBackendBytes) return this.skip(fault, 'etcd runs without --quota-backend-bytes');
    const endpoints = etcd.map((member) => member.clientUrl);
    const logged = () => {
      let paused = 0;
      let resumed = 0;
      for (const bridge of supervisor.alive()) {
        paused += bridge.linesMatching(/"message":"commits paused: etcd refuses writes"/).length;
        resumed += bridge.linesMatching(/"message":"commits resumed/).length;
      }
      return { paused, resumed };
    };
    const linesBefore = logged();
    const record: NospaceRecord = {
      dbSizeBefore: await dbSize(endpoints),
      fillerPuts: 0,
      fillMs: 0,
      alarmRaised: false,
      pausedLogged: 0,
      resumedLogged: 0,
    };
    fault.nospace = record;
    // Its own client: refusals must not open the breaker of a client anyone else uses.
    const filler = new Etcd3(
      testClientOptions(endpoints[0]!, {
        hosts: endpoints,
        // No breaker to speak of: refusals for space would open etcd3's default one, and then the delete fails.
        faultHandling: {
          host: () =>
            circuitBreaker(handleWhen(isRecoverableError), {
              halfOpenAfter: 100,
              breaker: new ConsecutiveBreaker(1_000),
            }),
        },
      }),
    );
    try {
      const fillStart = Date.now();
      record.fillerPuts = await fillUntilNoSpace(filler, quotaBackendBytes);
      record.fillMs = Date.now() - fillStart;
      record.alarmRaised = /NOSPACE/.test(await etcdctl(endpoints, 'alarm', 'list'));
      await sleep(fault.durationMs);

      // The operator's steps (each retried: a member may be busy defragmenting; etcd must not stay full).
      const repairStart = Date.now();
      const deleted = await retried(() => filler.delete().prefix(FILLER_PREFIX).exec());
      const revision = Number(deleted!.header.revision);
      record.compactRevision = revision;
      await this.deps.beforeCompact?.(revision);
      await retried(
        () => etcdctl(endpoints, 'compact', String(revision), '--physical'),
        /required revision has been compacted/,
      );
      for (const endpoint of endpoints)
        await retried(() => etcdctl([endpoint], 'defrag', '--command-timeout=60s'));
      await retried(() => etcdctl(endpoints, 'alarm', 'disarm'));
      const disarmedAt = Date.now();
      record.repairMs = disarmedAt - repairStart;
      record.dbSizeAfter = await dbSize(endpoints);
      if (await this.checkpointsPast(filler, revision, 60_000)) record.caughtUpMs = Date.now() - disarmedAt;
    } finally {
      filler.close();
      const linesAfter = logged();
      record.pausedLogged = Math.max(0, linesAfter.paused - linesBefore.paused);
      record.resumedLogged = Math.max(0, linesAfter.resumed - linesBefore.resumed);
      const mb = (bytes: number | undefined) =>
        bytes === undefined ? '?' : `${(bytes / 1048576).toFixed(1)} MiB`;
      fault.note = `db ${mb(record.dbSizeBefore)} -> full after ${record.fillerPuts} filler puts in ${record.fillMs} ms${record.alarmRaised ? ' (alarm NOSPACE)' : ' (NO alarm listed)'}; repaired in ${record.repairMs ?? '?'} ms (compact @${record.compactRevision ?? '?'}, db ${mb(record.dbSizeAfter)}); routes past it ${record.caughtUpMs === undefined ? 'NOT within 60 s' : `${record.caughtUpMs} ms after the disarm`}; "commits paused" logged ${record.pausedLogged}x, "resumed" ${record.resumedLogged}x`;
    }
  }

  /** Waits until every route checkpoint of the group is at least `revision` - 1 (resumes at or past it). */
  private async checkpointsPast(client: Etcd3, revision: number, timeoutMs: number): Promise<boolean> {
    const prefix = `${keyspaceFor(this.deps.group).root}checkpoint/`;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const checkpoints = Object.values(await client.getAll().prefix(prefix).strings());
        if (checkpoints.length > 0 && checkpoints.every((text) => Number(BigInt(text)) + 1 >= revision))
          return true;
      } catch {
        // ask again
      }
      await sleep(200);
    }
    return false;
  }

  private skip(fault: FaultRecord, note: string): void {
    fault.injected = false;
    fault.note = note;
  }

  private async sigstop(fault: FaultRecord): Promise<void> {
    const { supervisor, client } = this.deps;
    const leader = await supervisor.waitForLeader(20_000);
    const bridgeId = leader ? supervisor.bridgeId(leader) : undefined;
    if (!leader || !bridgeId) return this.skip(fault, 'no leader within 20 s');
    const release = supervisor.hold();
    const frozen = new Set<BridgeProcess>([leader]);
    try {
      supervisor.freeze(leader);
      const frozenAt = Date.now();
      fault.note = leader.name;
      const ttlMs = this.deps.leaseTtlSeconds * 1_000;
      // Its lease must run out: its election key goes. (With two bridges, the other is elected.)
      const gone = await this.electionKeyGone(bridgeId, ttlMs + 15_000);
      if (supervisor.alive().length > 1) {
        const successor = await supervisor.waitForLeader(
          Math.max(0, frozenAt + ttlMs + 15_000 - Date.now()),
          leader,
        );
        if (successor) fault.takeoverMs = Date.now() - frozenAt;
        fault.note += successor ? `, ${successor.name} took over in ${fault.takeoverMs} ms` : ', no takeover';
      }
      const rest = fault.durationMs - (Date.now() - frozenAt);
      if (rest > 0) await sleep(rest);
      if (!gone) {
        fault.note += `; its election key outlived ${ttlMs + 15_000} ms, no fencing window`;
        return;
      }

      // The fencing window: only the deposed bridge runs.
      const others = supervisor.alive().filter((b) => b !== leader);
      for (const other of others) {
        supervisor.freeze(other);
        frozen.add(other);
      }
      await sleep(300); // anything the others had sent lands before the window
      const fromRevision = await currentRevision(client);
      supervisor.thaw(leader);
      frozen.delete(leader);
      const exitInWindow = await leader.waitForExit(DEPOSED_EXIT_MS);
      await sleep(200); // anything the deposed one sent before it exited lands in the window
      const toRevision = await currentRevision(client);
      for (const other of others) {
        supervisor.thaw(other);
        frozen.delete(other);
      }
      fault.window = { fromRevision, toRevision };
      this.windows.push(fault.window);
      // It must exit 3; one that hangs instead is killed by the supervisor's health-check stand-in.
      const exit = exitInWindow ?? (await leader.waitForExit(HUNG_AFTER_MS + 5_000));
      fault.deposedExit = exit ?? 'still running';
      const hung = supervisor.wasHung(leader);
      fault.note += `; window (${fromRevision}, ${toRevision}], deposed bridge ${exit ? `exited ${JSON.stringify(exit)}${exitInWindow ? ' in the window' : ' after it'}${hung ? ' (hung, killed)' : ''}` : 'still running'}`;
      if (!exit) {
        this.problems.push(`fault #${fault.index}: ${leader.name}, deposed, still ran after SIGCONT`);
        await supervisor.kill(leader, 500);
      } else if (exit.code !== 3 && !hung) {
        this.problems.push(
          `fault #${fault.index}: ${leader.name}, deposed, exited ${JSON.stringify(exit)} instead of code 3`,
        );
      } else if (!exitInWindow && !hung) {
        // It ran on beside the new leader, where nothing can tell its commits from the leader's.
        this.problems.push(
          `fault #${fault.index}: ${leader.name}, deposed, did not exit within its fencing window (${DEPOSED_EXIT_MS} ms after SIGCONT); it exited ${JSON.stringify(exit)} later, unjudged meanwhile`,
        );
      }
    } finally {
      for (const bridge of frozen) supervisor.thaw(bridge);
      release();
    }
  }

  /** Waits until no election key of the group holds `bridgeId`. */
  private async electionKeyGone(bridgeId: string, timeoutMs: number): Promise<boolean> {
    const prefix = `${keyspaceFor(this.deps.group).root}election/`;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const keys = await this.deps.client.getAll().prefix(prefix).strings();
        if (!Object.values(keys).includes(bridgeId)) return true;
      } catch {
        // etcd briefly unreachable: ask again.
      }
      await sleep(100);
    }
    return false;
  }
}

/** Runs `step` until it succeeds (an error matching `done` counts as success), 10 tries 0.5 s apart. */
async function retried<T>(step: () => Promise<T>, done?: RegExp): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (done?.test(String(error))) return undefined;
      if (attempt >= 10) throw error;
      await sleep(500);
    }
  }
}

/** Puts 1 MiB values under FILLER_PREFIX, two at a time, until etcd refuses one for space; returns the puts acknowledged. */
async function fillUntilNoSpace(client: Etcd3, quotaBytes: number): Promise<number> {
  const value = 'x'.repeat(1024 * 1024);
  const limit = Math.ceil(quotaBytes / value.length) * 4 + 100;
  let acknowledged = 0;
  let next = 0;
  let full = false;
  const one = async (): Promise<void> => {
    while (!full && next < limit) {
      const key = `${FILLER_PREFIX}${String(next++).padStart(6, '0')}`;
      try {
        await client.put(key).value(value).exec();
        acknowledged++;
      } catch (error) {
        if (/database space exceeded/.test(String(error))) {
          full = true;
          return;
        }
        await sleep(100); // something else (a busy member): the next key
      }
    }
  };
  await Promise.all([one(), one()]);
  if (!full)
    throw new Error(`etcd never ran out of space after ${limit} filler puts (quota ${quotaBytes} bytes)`);
  return acknowledged;
}

/** The largest db size (bytes) of the members, from `etcdctl endpoint status`; 0 when unknown. */
export async function dbSize(endpoints: readonly string[]): Promise<number> {
  try {
    const statuses = JSON.parse(await etcdctl(endpoints, 'endpoint', 'status', '-w', 'json')) as Array<{
      Status?: { dbSize?: number };
    }>;
    return Math.max(0, ...statuses.map((s) => Number(s.Status?.dbSize ?? 0)));
  } catch {
    return 0;
  }
}

async function etcdctl(endpoints: readonly string[], ...args: string[]): Promise<string> {
  const { stdout } = await run(await findEtcdctl(), ['--endpoints', endpoints.join(','), ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    timeout: 90_000,
  });
  return stdout;
}

/** Starts etcd again on its ports and data (a few tries: the port may linger for a moment). */
export async function restartEtcd(etcd: EmbeddedEtcd): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await etcd.restart();
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
      await sleep(500 * attempt);
    }
  }
}
