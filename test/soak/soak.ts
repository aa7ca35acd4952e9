/**
 * `npm run soak -- [--minutes N] [--seed S] ...`: the chaos soak (run.ts). Progress goes to stderr,
 * the report (Markdown tables) to stdout. Exit 0 when every invariant held, 1 when one did not (or
 * the soak itself failed), 2 on a bad flag.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { killAllBridgeProcesses } from '../helpers/bridge-process.js';
import { FAULT_KINDS, type FaultKind } from './faults.js';
import {
  DEFAULT_SOAK_OPTIONS,
  NOSPACE_QUOTA_BYTES,
  runSoak,
  type SoakOptions,
  type SoakReport,
  verdicts,
} from './run.js';
import { formatReport } from './table.js';

const USAGE = `usage: npm run soak -- [--minutes N] [--seed S] [--rate R] [--keys K] [--bridges 1|2] [--members 1|3]
                       [--lease-ttl SECONDS] [--faults ${FAULT_KINDS.join(',')}]
                       [--quota-mb MIB] [--drain-timeout SECONDS] [--json FILE]
       npm run soak -- --render FILE

  --minutes        minutes of records and faults (default ${DEFAULT_SOAK_OPTIONS.minutes}); the drain comes on top
  --seed           seeds the workload and the fault plan (default ${DEFAULT_SOAK_OPTIONS.seed})
  --rate           heat stack records a second (default ${DEFAULT_SOAK_OPTIONS.rate})
  --keys           distinct heat stack keys (default ${DEFAULT_SOAK_OPTIONS.keys})
  --bridges        bridge processes in the group (default ${DEFAULT_SOAK_OPTIONS.bridges})
  --members        etcd members: 1, or 3 (a cluster on loopback; adds member-kill, member-cutoff, leader-move)
  --lease-ttl      the bridges' leaseTtlSeconds (default ${DEFAULT_SOAK_OPTIONS.leaseTtlSeconds})
  --faults         fault kinds to inject (default: all a single member can have, or all with --members 3);
                   a kind named twice is drawn twice as often
  --quota-mb       etcd's --quota-backend-bytes in MiB (default ${NOSPACE_QUOTA_BYTES / 1048576} with the nospace fault, none without)
  --drain-timeout  how long the pipeline may take to drain after the faults (default ${DEFAULT_SOAK_OPTIONS.drainTimeoutMs / 1000})
  --json           also write the whole report as JSON to FILE
  --render         print the tables of a report saved with --json (no soak)`;

class UsageError extends Error {}

function parseSoakArgs(args: string[]): {
  options: SoakOptions;
  json: string | undefined;
  render: string | undefined;
} {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const number = (flag: string, text: string | undefined, fallback: number, min: number, integer = true) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value)))
      throw new UsageError(`--${flag} ${text}: expected ${integer ? 'an integer' : 'a number'} >= ${min}`);
    return value;
  };
  const bridges = number('bridges', values.bridges, DEFAULT_SOAK_OPTIONS.bridges, 1);
  if (bridges !== 1 && bridges !== 2) throw new UsageError(`--bridges ${values.bridges}: expected 1 or 2`);
  const members = number('members', values.members, DEFAULT_SOAK_OPTIONS.members, 1);
  if (members !== 1 && members !== 3) throw new UsageError(`--members ${values.members}: expected 1 or 3`);
  let faults: FaultKind[] = members === 3 ? [...FAULT_KINDS] : [...DEFAULT_SOAK_OPTIONS.faults];
  if (values.faults !== undefined) {
    faults = values.faults.split(',').map((name) => {
      if (!(FAULT_KINDS as readonly string[]).includes(name))
        throw new UsageError(`--faults: unknown fault ${name} (known: ${FAULT_KINDS.join(', ')})`);
      return name as FaultKind;
    });
  }
  return {
    options: {
      minutes: number('minutes', values.minutes, DEFAULT_SOAK_OPTIONS.minutes, 0.05, false),
      seed: number('seed', values.seed, DEFAULT_SOAK_OPTIONS.seed, 0),
      rate: number('rate', values.rate, DEFAULT_SOAK_OPTIONS.rate, 1),
      keys: number('keys', values.keys, DEFAULT_SOAK_OPTIONS.keys, 1),
      bridges,
      members,
      leaseTtlSeconds: number('lease-ttl', values['lease-ttl'], DEFAULT_SOAK_OPTIONS.leaseTtlSeconds, 2),
      faults,
      ...(values['quota-mb'] !== undefined
        ? { quotaBackendBytes: number('quota-mb', values['quota-mb'], 0, 1) * 1048576 }
        : {}),
      drainTimeoutMs:
        number('drain-timeout', values['drain-timeout'], DEFAULT_SOAK_OPTIONS.drainTimeoutMs / 1000, 1) *
        1000,
      stopGraceMs: DEFAULT_SOAK_OPTIONS.stopGraceMs,
    },
    json: values.json,
    render: values.render,
  };
}

function parse(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      minutes: { type: 'string' },
      seed: { type: 'string' },
      rate: { type: 'string' },
      keys: { type: 'string' },
      bridges: { type: 'string' },
      members: { type: 'string' },
      'lease-ttl': { type: 'string' },
      faults: { type: 'string' },
      'drain-timeout': { type: 'string' },
      'quota-mb': { type: 'string' },
      json: { type: 'string' },
      render: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let parsed: ReturnType<typeof parseSoakArgs>;
  try {
    parsed = parseSoakArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`soak: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (parsed.render) {
    const saved = JSON.parse(await readFile(parsed.render, 'utf8')) as SoakReport;
    process.stdout.write(`${formatReport(saved)}\n`);
    return verdicts(saved).passed ? 0 : 1;
  }
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`soak: ${signal}, stopping the bridges\n`);
    void killAllBridgeProcesses().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = new Date();
  process.stderr.write(
    `soak: started ${started.toISOString()}: ${JSON.stringify({ ...parsed.options, log: undefined })}\n`,
  );
  const report = await runSoak({ ...parsed.options, log: (line) => process.stderr.write(`soak: ${line}\n`) });
  if (parsed.json) await writeFile(parsed.json, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${formatReport(report)}\n`);
  return report.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `soak: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
