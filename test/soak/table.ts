/** The soak's report as Markdown tables (what `npm run soak` prints and docs/reliability.md shows). */
import type { FaultKind } from './faults.js';
import { type SoakReport, verdicts } from './run.js';

const FAULT_LABELS: Record<FaultKind, string> = {
  sigkill: 'bridge SIGKILL (leader), restarted',
  'etcd-restart': 'etcd SIGKILL + restart',
  'cut-reset': 'network cut, reset',
  'cut-blackhole': 'network cut, blackhole',
  sigstop: 'leader SIGSTOP past its lease, then SIGCONT',
  'member-kill': 'etcd member SIGKILL + restart',
  'member-cutoff': 'etcd member cut off from its peers',
  'leader-move': 'raft leader moved (etcdctl move-leader)',
  nospace: 'etcd out of space (NOSPACE alarm), then compact + defrag + disarm',
};

export function formatReport(report: SoakReport): string {
  const { options, check, lag } = report;
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const rows: Array<[string, string | number]> = [['records (heat stack revisions)', check.records]];
  for (const kind of new Set(options.faults))
    rows.push([`faults: ${FAULT_LABELS[kind]}`, report.faultCounts[kind]]);
  rows.push(
    ['lost', check.lost],
    ['duplicated', check.duplicated],
    ['out of order', check.outOfOrder],
    ['committed by a deposed leader', check.deposedCommits],
    ['maximum lag', s(lag.maxMs)],
  );
  const main = table(['', 'value'], rows);

  const stopFailures = report.exits.filter((e) => e.atEnd && e.status.code !== 0).length;
  const crashes = report.exits.filter((e) => !e.injected && e.status.signal !== null && !e.hung).length;
  const exitKinds = new Map<string, number>();
  for (const exit of report.exits) {
    const status = exit.status.code !== null ? `exit ${exit.status.code}` : exit.status.signal;
    const kind = exit.hung
      ? 'hung after failing, SIGKILLed 15 s later'
      : exit.atEnd
        ? `stopped at the end (${status})`
        : exit.injected
          ? 'SIGKILL by the soak'
          : `${status}${exit.status.code === 3 ? ' (leadership lost)' : exit.reason ? ` (${shorten(exit.reason)})` : ''}`;
    exitKinds.set(kind, (exitKinds.get(kind) ?? 0) + 1);
  }
  const verdict = verdicts(report);
  const detail = table(
    ['detail', 'value'],
    [
      [
        'invariants of DESIGN §4 (the rows above, and the ones below down to the second judge)',
        pass(verdict.invariantsHeld),
      ],
      [
        'bridges exited as `start` promises (3 once deposed, 0 on SIGTERM)',
        `${pass(verdict.exitsAsPromised)}: ${report.exits.filter((e) => e.hung).length} hung after failing, ${stopFailures} did not exit on SIGTERM at the end, ${crashes} died of a signal the soak did not send, ${report.faultProblems.length} deposed that did not exit 3 within the window`,
      ],
      ['records written by the soak (puts acknowledged)', report.written],
      [
        'puts retried by the writer / duplicate input revisions',
        `${report.writerRetries} / ${check.duplicateInputs}`,
      ],
      ['keys', check.keys],
      [
        'job_state puts / state puts / job_state deletes',
        `${check.jobStatePuts} / ${check.statePuts} / ${check.jobStateDeletes}`,
      ],
      ['wrong content', check.wrongContent],
      ['unfinished keys after the drain', check.unfinished],
      ['dead-lettered', check.deadLettered],
      ...(options.faults.includes('nospace')
        ? ([
            [
              'dead-lettered for etcd pressure (RESOURCE_EXHAUSTED) / bridge exits during NOSPACE',
              `${report.pressureDeadLetters ?? '?'} / ${report.nospaceExits ?? '?'}`,
            ],
            ['NOSPACE faults: db size at start (max) / quota', nospaceSizes(report)],
            [
              'NOSPACE faults: fill / repair (delete, compact, defrag, disarm) / routes past the compaction',
              nospaceTimes(report),
            ],
          ] as Array<[string, string]>)
        : []),
      ['fencing windows checked', report.fenceWindows],
      ['problems found by checkPipeline (second judge)', report.judgeProblems.length],
      ['faults planned but not injected (no leader)', report.faultsSkipped],
      [
        'lag p50 / p99 / max',
        `${s(lag.p50Ms)} / ${s(lag.p99Ms)} / ${s(lag.maxMs)} (max: input written at ${s(lag.maxAtMs)})`,
      ],
      [
        'max lag of inputs in flight during each fault kind',
        Object.entries(lag.byFault)
          .map(([kind, ms]) => `${kind} ${s(ms)}`)
          .join(', '),
      ],
      ['bridge processes started / elections won', `${report.bridgeStarts} / ${report.elections}`],
      [
        'bridge exits',
        [...exitKinds]
          .sort((a, b) => b[1] - a[1])
          .map(([kind, n]) => `${n} ${kind}`)
          .join(', '),
      ],
      ['history events judged', report.historyEvents],
      [
        'time: faults+records / drain / history+check / total',
        `${s(report.timings.soakMs)} / ${s(report.timings.drainMs)} / ${s(report.timings.checkMs)} / ${s(report.timings.totalMs)}`,
      ],
    ],
  );
  const header = `soak: seed ${options.seed}, ${options.minutes} min, ${options.bridges} bridge${options.bridges === 1 ? '' : 's'}, ${options.rate} records/s over ${options.keys} keys, lease TTL ${options.leaseTtlSeconds} s`;
  const problems = [
    ...report.faultProblems,
    ...check.problems,
    ...report.judgeProblems.map((p) => `checkPipeline: ${p}`),
  ];
  const unexpected = report.exits.filter((e) => e.tail !== undefined);
  return [
    header,
    '',
    main,
    '',
    detail,
    ...(problems.length > 0 ? ['', 'problems:', ...problems.slice(0, 60).map((p) => `- ${p}`)] : []),
    ...(unexpected.length > 0
      ? [
          '',
          'bridge exits worth a look (their last lines are in the --json report):',
          ...unexpected.map(
            (e) =>
              `- ${e.name} at ${s(e.atMs)} (last fault ${e.fault ?? 'none'}): ${JSON.stringify(e.status)}${e.stopMs !== undefined ? `, ${s(e.stopMs)} after SIGTERM` : ''}${e.hung ? ', hung' : ''}${e.reason ? `, ${e.reason}` : ''}`,
          ),
        ]
      : []),
  ].join('\n');
}

function nospaceSizes(report: SoakReport): string {
  const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
  const quota = report.options.quotaBackendBytes;
  // How fast the soak's own data grew between two nospace faults at least 30 s apart (the first
  // compacted it all; over a shorter gap the catch-up after the disarm dominates).
  const faults = report.faults.filter((f) => f.kind === 'nospace' && f.injected && f.nospace);
  let growth = 0;
  for (let i = 1; i < faults.length; i++) {
    const before = faults[i]!;
    const after = faults[i - 1]!;
    const minutes = (before.startMs - after.endMs) / 60_000;
    if (after.nospace?.dbSizeAfter !== undefined && minutes >= 0.5)
      growth = Math.max(growth, (before.nospace!.dbSizeBefore - after.nospace.dbSizeAfter) / minutes);
  }
  return `${mb(report.dbSizeMax ?? 0)} / ${quota ? mb(quota) : 'none'}${growth > 0 ? ` (own data grew ≤ ${mb(growth)}/min between two)` : ''}`;
}

function nospaceTimes(report: SoakReport): string {
  const faults = report.faults.filter((f) => f.kind === 'nospace' && f.injected && f.nospace);
  if (faults.length === 0) return 'none injected';
  const max = (values: Array<number | undefined>) =>
    values.some((v) => v === undefined)
      ? 'not all'
      : `≤ ${(Math.max(...(values as number[])) / 1000).toFixed(1)} s`;
  const alarms = faults.filter((f) => f.nospace?.alarmRaised).length;
  return `${max(faults.map((f) => f.nospace?.fillMs))} / ${max(faults.map((f) => f.nospace?.repairMs))} / ${max(faults.map((f) => f.nospace?.caughtUpMs))} (alarm listed ${alarms} of ${faults.length} times)`;
}

function pass(ok: boolean): string {
  return ok ? 'PASS' : 'FAIL';
}

/** A log message without lease ids and such, so that like exits group together. */
function shorten(reason: string): string {
  return reason
    .replace(/\. Last error:.*$/, '')
    .replace(/ \(\d{4}-\d\d-\d\dT[^)]*\)/g, '')
    .replace(/\d{6,}/g, 'N')
    .replace(/127\.0\.0\.1:\d+/g, 'the proxy')
    .slice(0, 120);
}

function table(head: [string, string], rows: Array<[string, string | number]>): string {
  return [
    `| ${head[0]} | ${head[1]} |`,
    '|---|---:|',
    ...rows.map(([name, value]) => `| ${name} | ${value} |`),
  ].join('\n');
}
