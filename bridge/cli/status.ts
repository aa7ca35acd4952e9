/**
 * `etcd-bridge status [--json]`: per route, the checkpoint, the etcd head revision, the lag between
 * them, the records the leader has in flight, the dead-letter count, and which bridge leads.
 *
 * Checkpoints, head, election and dead-letter counts come from etcd (and SQS) directly; in-flight
 * numbers only exist inside the leader, which publishes them every ~2 s (bridge/status.ts). A
 * published status older than 10 s, or from a bridge that no longer leads, is shown as stale and
 * its in-flight numbers are not used. No endpoint, password or key is ever printed.
 *
 * Exit codes: 0 shown; 1 etcd cannot be reached; 2 a bad command line or configuration.
 */
import type { BridgeConfig } from '../config.js';
import { createDeadLetterQueue, type DeadLetterQueueOptions } from '../dlq/from-config.js';
import { ConfigError } from '../errors.js';
import { createEtcdClient } from '../etcd/client.js';
import { keyspaceFor } from '../keyspace.js';
import { noLeaderHint, readStatus, type StatusReport } from '../status/reader.js';
import { configFromFlags } from './config-flags.js';
import { STATUS } from './definitions.js';
import { type CliIo, processIo } from './dlq.js';
import { failureText } from './failure.js';
import { CliUsageError, parseCommandLine } from './usage.js';

export function statusCommand(args: string[]): Promise<number> {
  return runStatus(args);
}

export async function runStatus(
  args: string[],
  deps: { io?: CliIo; queueOptions?: DeadLetterQueueOptions } = {},
): Promise<number> {
  const io = deps.io ?? processIo;
  const { values, positionals } = parseCommandLine('status', args, STATUS.flags);
  if (positionals.length > 0) throw new CliUsageError(`status: unexpected argument ${positionals[0]}`);
  let config: BridgeConfig;
  try {
    config = await configFromFlags(values);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(`etcd-bridge status: ${error.message}\n`);
    return 2;
  }

  const client = createEtcdClient(config.etcd);
  const keyspace = keyspaceFor(config.group);
  try {
    const report = await readStatus({
      client,
      keyspace,
      group: config.group,
      routes: config.routes,
      queue: createDeadLetterQueue(config, client, keyspace, deps.queueOptions),
    });
    io.out(values.json ? `${JSON.stringify(report)}\n` : formatReport(report));
    return 0;
  } catch (error) {
    io.err(`etcd-bridge status: cannot read the status of group ${config.group}: ${failureText(error)}\n`);
    return 1;
  } finally {
    client.close();
  }
}

export function formatReport(report: StatusReport): string {
  const lines: string[] = [];
  const published = report.published;
  const freshness = published
    ? `status published by ${published.bridgeId} ${(published.ageMs / 1000).toFixed(1)} s ago${published.stale ? ' (STALE)' : ''}`
    : 'no status published yet';
  lines.push(
    `group ${report.group}   head revision ${report.headRevision}   leader ${report.leader ?? '(none)'}   ${freshness}`,
  );
  const hint = noLeaderHint(report);
  if (hint !== undefined) lines.push(hint);
  // The leader's counters since it started, only from a status fresh enough to be its own.
  const fresh = published !== null && !published.stale;
  const rows = [
    ['ROUTE', 'CHECKPOINT', 'HEAD', 'LAG', 'IN FLIGHT', 'DEAD-LETTERED', 'WATCH RECONNECTS'],
    ...report.routes.map((r) => [
      r.route,
      r.checkpoint ?? '-',
      r.headRevision,
      r.lag ?? '-',
      r.inFlight === null ? '?' : String(r.inFlight),
      r.deadLettered === null ? `? (${r.deadLetterError ?? 'unknown'})` : String(r.deadLettered),
      fresh && r.published ? String(r.published.watchReconnects) : '?',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows)
    lines.push(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
  if (fresh && report.progress) lines.push(progressLine(report.progress));
  return `${lines.join('\n')}\n`;
}

/** The leader's own counters: lease keep-alive failovers, and failed commit transactions by reason. */
function progressLine(progress: NonNullable<StatusReport['progress']>): string {
  const failures = progress.commitFailures.map((f) => `${f.reason} ${f.count}`).join(', ');
  return `leader since its start: ${progress.leaseKeepAliveFailovers} lease keep-alive failovers; failed commits: ${failures || 'none'}`;
}
