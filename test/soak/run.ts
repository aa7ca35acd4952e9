/**
 * The chaos soak: one etcd, a TCP proxy in front of it, 1–2 bridge processes of one group reaching
 * etcd only through the proxy, a steady stream of heat stack records written straight to etcd, and
 * faults one after another (faults.ts) until the time is up. Then the faults stop, the pipeline is
 * given a bounded time to drain, the bridges are stopped, and etcd's own history from revision 1 is
 * judged (check.ts, and the fault tests' `checkPipeline` as a second opinion).
 */
import { ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';
import { requireLeader } from '../../bridge/etcd/client.js';
import type { EmbeddedEtcd } from '../../bridge/etcd/embedded-etcd.js';
import { keyspaceFor } from '../../bridge/keyspace.js';
import { killAllBridgeProcesses } from '../helpers/bridge-process.js';
import {
  type EtcdFixture,
  type HistoryEvent,
  startEtcd,
  stopEtcd,
  testClientOptions,
} from '../helpers/etcd.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { checkPipeline, historyFrom, makeWorkload, waitForPipeline } from '../helpers/workload.js';
import { checkSoak, passed, type SoakCheck } from './check.js';
import { type BridgeExit, BridgeSupervisor } from './cluster.js';
import {
  FAULT_KINDS,
  FaultInjector,
  type FaultKind,
  type FaultRecord,
  FILLER_PREFIX,
  faultPlan,
  restartEtcd,
  SINGLE_FAULT_KINDS,
} from './faults.js';
import { ClockTicker, RecordStream, RevisionClock } from './writer.js';

export interface SoakOptions {
  /** Minutes of faults and records (the drain comes on top). */
  minutes: number;
  seed: number;
  /** Heat stack records a second. */
  rate: number;
  keys: number;
  bridges: 1 | 2;
  /** etcd members: 1 (EmbeddedEtcd) or 3 (a cluster on loopback, with the member faults). */
  members: 1 | 3;
  leaseTtlSeconds: number;
  faults: readonly FaultKind[];
  /**
   * etcd's --quota-backend-bytes; default: NOSPACE_QUOTA_BYTES when the nospace fault is drawn, none
   * (etcd's 2 GiB) otherwise.
   */
  quotaBackendBytes?: number;
  /** Upper bound of the drain after the last fault. */
  drainTimeoutMs: number;
  /** At the end, how long a bridge may take to exit after SIGTERM before it is SIGKILLed. */
  stopGraceMs: number;
  /** Progress lines. */
  log?(line: string): void;
}

export const DEFAULT_SOAK_OPTIONS: SoakOptions = {
  minutes: 0.5,
  seed: 1,
  rate: 50,
  keys: 300,
  bridges: 2,
  members: 1,
  leaseTtlSeconds: 5,
  faults: SINGLE_FAULT_KINDS,
  drainTimeoutMs: 120_000,
  stopGraceMs: 20_000,
};

export const SOAK_GROUP = 'soak';

/**
 * The quota the nospace fault fills. The soak writes ~9 MiB of etcd history a minute at 50 records/s
 * (measured: docs/reliability.md, NOSPACE), and every nospace fault compacts it away, so what must
 * fit below the quota is the history between two nospace faults (a few minutes at most with every
 * kind in the round-robin); the filler then needs ~50 puts of 1 MiB.
 */
export const NOSPACE_QUOTA_BYTES = 64 * 1024 * 1024;

export interface LagStats {
  /** Inputs that reached a state and whose lag could be bounded. */
  samples: number;
  maxMs: number;
  p99Ms: number;
  p50Ms: number;
  /** When the slowest input was written, in ms since the start. */
  maxAtMs: number;
  /** Per fault kind (and "none"): the largest lag of an input in flight while such a fault ran. */
  byFault: Record<string, number>;
}

export interface SoakReport {
  options: Omit<SoakOptions, 'log'>;
  /** Wall-clock ms: faults+records phase, drain, history read and check, total. */
  timings: { soakMs: number; drainMs: number; checkMs: number; totalMs: number };
  drained: boolean;
  written: number;
  writerRetries: number;
  faults: FaultRecord[];
  faultCounts: Record<FaultKind, number>;
  faultsSkipped: number;
  exits: BridgeExit[];
  /** Bridges that failed ("bridge stops", "bridge failed to start") but did not exit (killed by the health-check stand-in). */
  hung: number;
  elections: number;
  bridgeStarts: number;
  historyEvents: number;
  check: Omit<SoakCheck, 'chains'>;
  /** Problems `checkPipeline` (test/helpers/workload.ts) found: a second, independent judge. */
  judgeProblems: string[];
  /** Problems seen while injecting faults (a deposed bridge that did not exit 3). */
  faultProblems: string[];
  fenceWindows: number;
  lag: LagStats;
  /** Dead-letter entries whose error is etcd's pressure (RESOURCE_EXHAUSTED, space exceeded, too many requests): must be 0. */
  pressureDeadLetters?: number;
  /** Bridge exits the soak did not cause while a nospace fault ran: must be 0. */
  nospaceExits?: number;
  /** The largest db size seen at the start of a nospace fault (bytes), and the quota. */
  dbSizeMax?: number;
  /** DESIGN §4 held: nothing lost, duplicated, out of order, wrongly made, committed by a deposed leader; drained. */
  invariantsHeld: boolean;
  /** Every bridge exited as `etcd-bridge start` promises: 3 once deposed, 0 on SIGTERM (none hung, none died of a signal the soak did not send). */
  exitsAsPromised: boolean;
  passed: boolean;
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const startedAt = Date.now();
  const durationMs = Math.round(options.minutes * 60_000);
  let fixture: EtcdFixture | undefined;
  let cluster: EtcdCluster | undefined;
  const proxies: TcpProxy[] = [];
  const writerClients: Etcd3[] = [];
  let ticker: ClockTicker | undefined;
  try {
    // The writer retries on its own: etcd3's default breaker would refuse it for 5 s after a restart.
    const faultHandling = {
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), {
          halfOpenAfter: 100,
          breaker: new ConsecutiveBreaker(1_000),
        }),
    };
    let members: EmbeddedEtcd[];
    let client: Etcd3;
    /** The member a fault disturbs now: the writers go through the others meanwhile. */
    let victim: number | undefined;
    let writer: () => Etcd3;
    const quotaBackendBytes =
      options.quotaBackendBytes ?? (options.faults.includes('nospace') ? NOSPACE_QUOTA_BYTES : undefined);
    const quotaArgs = quotaBackendBytes ? [`--quota-backend-bytes=${quotaBackendBytes}`] : [];
    if (options.members === 3) {
      cluster = await EtcdCluster.start({ extraArgs: quotaArgs });
      members = cluster.members.map((m) => m.etcd);
      // writerClients[i] reaches every member but i; the last one reaches all. All ask for a leader.
      for (const skipped of [...cluster.endpoints, '']) {
        const hosts = cluster.endpoints.filter((url) => url !== skipped);
        writerClients.push(
          new Etcd3(
            testClientOptions(hosts[0]!, {
              hosts,
              faultHandling,
              grpcOptions: { interceptors: [requireLeader] },
            }),
          ),
        );
      }
      client = writerClients.at(-1)!;
      writer = () => writerClients[victim ?? writerClients.length - 1]!;
    } else {
      fixture = await startEtcd({ client: { faultHandling }, extraArgs: quotaArgs });
      members = [fixture.etcd];
      client = fixture.client;
      writer = () => client;
    }
    for (const member of members) proxies.push(await TcpProxy.start(member.clientUrl));
    log(`etcd ${members.map((m) => m.clientUrl).join(',')}, proxies ${proxies.map((p) => p.url).join(',')}`);

    let injector: FaultInjector | undefined;
    const supervisor = new BridgeSupervisor({
      etcd: proxies.map((p) => p.url).join(','),
      group: SOAK_GROUP,
      count: options.bridges,
      config: { leaseTtlSeconds: options.leaseTtlSeconds },
      startedAt,
      currentFault: () => injector?.describeCurrent(),
      log: (line) => log(`${seconds(Date.now() - startedAt)} ${line}`),
    });
    supervisor.start();
    if (!(await supervisor.waitForLeader(30_000))) throw new Error('no bridge was elected within 30 s');

    // Records and faults.
    const soakStart = Date.now();
    const endsAt = soakStart + durationMs;
    const records = makeWorkload({
      records: Math.ceil((options.rate * durationMs) / 1000) + 1,
      keys: options.keys,
      seed: options.seed,
    });
    const clock = new RevisionClock();
    // The history is read as the soak goes when a nospace fault compacts it (and at the end).
    const recorder = new HistoryRecorder(members[0]!.clientUrl);
    ticker = new ClockTicker(writer, clock);
    ticker.start();
    const stream = new RecordStream(writer, records, clock, { perSecond: options.rate, endsAt });
    stream.start();
    injector = new FaultInjector(
      {
        etcd: members,
        ...(cluster ? { cluster } : {}),
        onVictim: (member) => {
          victim = member;
        },
        client,
        proxies,
        supervisor,
        group: SOAK_GROUP,
        leaseTtlSeconds: options.leaseTtlSeconds,
        startedAt,
        ...(quotaBackendBytes ? { quotaBackendBytes } : {}),
        beforeCompact: (revision) => recorder.readTo(revision),
        log: (line) => log(`${seconds(Date.now() - startedAt)} ${line}`),
      },
      faultPlan(options.seed, options.faults, options.leaseTtlSeconds),
    );
    const progress = setInterval(
      () =>
        log(
          `${seconds(Date.now() - startedAt)} progress: ${stream.stats.written} records written, ${injector?.faults.length ?? 0} faults, ${supervisor.alive().length} bridges running, leader ${supervisor.leader()?.name ?? 'none'}`,
        ),
      durationMs > 120_000 ? 60_000 : 5_000,
    );
    try {
      await injector.run(endsAt);
      await stream.stop();
    } finally {
      clearInterval(progress);
    }
    // Nothing left half-done: the proxies forward, etcd runs, no bridge is frozen.
    for (const proxy of proxies) if (proxy.isCut) proxy.restore();
    for (const member of cluster?.cutMembers ?? []) cluster?.heal(member);
    await Promise.all(members.filter((m) => !m.isRunning).map((m) => restartEtcd(m)));
    for (const bridge of supervisor.alive()) supervisor.thaw(bridge);
    const soakMs = Date.now() - soakStart;
    log(
      `${seconds(Date.now() - startedAt)} faults over: ${stream.stats.written} records written, ${injector.faults.length} faults; draining`,
    );

    // Drain (bounded), then stop the bridges: they must exit 0.
    const drainStart = Date.now();
    const drain = await waitForPipeline(client, stream.written, {
      timeoutMs: options.drainTimeoutMs,
      quietMs: options.drainTimeoutMs,
    });
    const drainMs = Date.now() - drainStart;
    log(
      `${seconds(Date.now() - startedAt)} ${drain.done ? 'drained' : `NOT drained (${drain.missing} keys without their last state, ${drain.jobStateLeft} job_state keys left)`} in ${seconds(drainMs)}`,
    );
    await ticker.stop();
    ticker = undefined;
    await supervisor.stopAll(options.stopGraceMs);

    // Judge etcd's history.
    const checkStart = Date.now();
    let check: SoakCheck;
    let judgeProblems: string[];
    let historyEvents: number;
    let pressureDeadLetters = 0;
    try {
      await recorder.readTo(0);
      const events = recorder.events;
      historyEvents = events.length;
      log(`${seconds(Date.now() - startedAt)} history: ${events.length} events; checking`);
      check = checkSoak(events, { group: SOAK_GROUP, fenceWindows: injector.windows });
      judgeProblems = checkPipeline(events, { group: SOAK_GROUP }).problems;
      pressureDeadLetters = countPressureDeadLetters(events, SOAK_GROUP);
    } finally {
      recorder.close();
    }
    const checkMs = Date.now() - checkStart;

    const nospaceFaults = injector.faults.filter((f) => f.kind === 'nospace' && f.injected);
    const nospaceExits = supervisor.exits.filter(
      (e) => !e.injected && nospaceFaults.some((f) => e.atMs >= f.startMs && e.atMs <= f.endMs),
    ).length;
    const dbSizeMax = Math.max(0, ...nospaceFaults.map((f) => f.nospace?.dbSizeBefore ?? 0));
    const lag = lagStats(check, stream.sentAt, clock, injector.faults, startedAt);
    const faultCounts = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
    for (const fault of injector.faults) if (fault.injected) faultCounts[fault.kind]++;
    const { chains: _chains, ...checkCounts } = check;
    const { log: _log, ...reportedOptions } = options;
    return {
      options: { ...reportedOptions, ...(quotaBackendBytes ? { quotaBackendBytes } : {}) },
      timings: { soakMs, drainMs, checkMs, totalMs: Date.now() - startedAt },
      drained: drain.done,
      written: stream.stats.written,
      writerRetries: stream.stats.retried,
      faults: injector.faults,
      faultCounts,
      faultsSkipped: injector.faults.filter((f) => !f.injected).length,
      exits: supervisor.exits,
      hung: supervisor.exits.filter((e) => e.hung).length,
      elections: supervisor.elections,
      bridgeStarts: supervisor.spawned,
      historyEvents,
      check: checkCounts,
      judgeProblems,
      faultProblems: injector.problems,
      fenceWindows: injector.windows.length,
      lag,
      pressureDeadLetters,
      nospaceExits,
      dbSizeMax,
      ...verdicts({
        check: checkCounts,
        judgeProblems,
        drained: drain.done,
        faultProblems: injector.problems,
        exits: supervisor.exits,
        pressureDeadLetters,
        nospaceExits,
      }),
    };
  } finally {
    await ticker?.stop().catch(() => undefined);
    await killAllBridgeProcesses();
    for (const proxy of proxies) await proxy.close();
    for (const writerClient of writerClients) writerClient.close();
    if (fixture) await stopEtcd(fixture);
    await cluster?.stop();
  }
}

/** The verdicts of a report (derived, so that a saved report can be judged again). */
export function verdicts(
  report: Pick<
    SoakReport,
    'check' | 'judgeProblems' | 'drained' | 'faultProblems' | 'exits' | 'pressureDeadLetters' | 'nospaceExits'
  >,
): Pick<SoakReport, 'invariantsHeld' | 'exitsAsPromised' | 'passed'> {
  const invariantsHeld =
    passed(report.check) &&
    report.judgeProblems.length === 0 &&
    report.drained &&
    !report.pressureDeadLetters;
  const exitsAsPromised =
    report.faultProblems.length === 0 &&
    !report.nospaceExits &&
    report.exits.every(
      // A signal the soak did not send (SIGABRT on V8's heap limit, SIGSEGV) is a crash, not an exit.
      (e) => !e.hung && (!e.atEnd || e.status.code === 0) && (e.injected || e.status.signal === null),
    );
  return { invariantsHeld, exitsAsPromised, passed: invariantsHeld && exitsAsPromised };
}

/**
 * Lag of each input: from when its put was first sent to the latest time its state can have been
 * written (the first acknowledgement of a later revision; see RevisionClock). So each value is an
 * upper bound, too high by at most the clock's 100 ms tick plus one put's latency.
 */
function lagStats(
  check: SoakCheck,
  sentAt: ReadonlyMap<number, number>,
  clock: RevisionClock,
  faults: readonly FaultRecord[],
  startedAt: number,
): LagStats {
  const lags: number[] = [];
  const byFault: Record<string, number> = { none: 0 };
  let maxMs = 0;
  let maxAtMs = 0;
  for (const chain of check.chains) {
    const sent = sentAt.get(chain.seq);
    const madeBy = clock.madeBy(chain.stateRevision);
    if (sent === undefined || madeBy === undefined) continue;
    const lag = Math.max(0, madeBy - sent);
    lags.push(lag);
    if (lag > maxMs) {
      maxMs = lag;
      maxAtMs = sent - startedAt;
    }
    // Faults that ran while the input was in flight.
    const from = sent - startedAt;
    const to = madeBy - startedAt;
    let during = false;
    for (const fault of faults) {
      if (!fault.injected || fault.startMs > to || fault.endMs < from) continue;
      during = true;
      byFault[fault.kind] = Math.max(byFault[fault.kind] ?? 0, lag);
    }
    if (!during) byFault.none = Math.max(byFault.none ?? 0, lag);
  }
  lags.sort((a, b) => a - b);
  const quantile = (q: number) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))] ?? 0;
  return { samples: lags.length, maxMs, p99Ms: quantile(0.99), p50Ms: quantile(0.5), maxAtMs, byFault };
}

/** A dead letter's error when etcd was under pressure rather than the record at fault. */
const PRESSURE = /RESOURCE_EXHAUSTED|database space exceeded|too many requests/i;

/** Dead-letter puts of the group whose entry names etcd's pressure as the error (DESIGN invariant 9: must be 0). */
export function countPressureDeadLetters(events: readonly HistoryEvent[], group: string): number {
  const dlq = keyspaceFor(group).dlqPrefix();
  return events.filter((e) => e.type === 'put' && e.key.startsWith(dlq) && PRESSURE.test(e.value)).length;
}

/**
 * etcd's history from revision 1, read in pieces: a nospace fault compacts it, so the part up to the
 * compaction is read before (readTo), the rest at the end. Filler events are dropped (1 MiB each).
 */
class HistoryRecorder {
  readonly events: HistoryEvent[] = [];
  private next = 1;
  private readonly client: Etcd3;

  constructor(url: string) {
    this.client = new Etcd3({
      ...testClientOptions(url),
      grpcOptions: { 'grpc.max_receive_message_length': 1024 * 1024 * 1024 },
    });
  }

  /** Reads on from where it stopped to (at least) `revision`; 0: to the current revision. */
  async readTo(revision: number): Promise<void> {
    if (revision !== 0 && revision < this.next) return;
    const events = await historyFrom(this.client, this.next, 30 * 60_000);
    for (const event of events) if (!event.key.startsWith(FILLER_PREFIX)) this.events.push(event);
    const last = events.at(-1)?.modRevision;
    if (last !== undefined) this.next = last + 1;
  }

  close(): void {
    this.client.close();
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
