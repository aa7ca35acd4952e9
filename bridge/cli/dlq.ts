/**
 * `etcd-bridge dlq list|show|redrive`: the dead-letter queue of a group, on the etcd sink (default)
 * or on SQS (`deadLetter.sink = sqs`), from the command line.
 *
 * Redrive runs each record through its route's function again and commits its outputs only if no
 * newer revision of its key was applied since; otherwise the record is superseded and dropped.
 * The full semantics are in bridge/dlq/redrive.ts.
 *
 * Exit codes: 0 done (redrive: nothing failed); 1 a record is missing, failed again or was
 * skipped, or etcd / the queue cannot be reached; 2 a bad command line or configuration.
 */
import { Console } from 'node:console';
import type { Etcd3 } from 'etcd3';
import type { BridgeConfig } from '../config.js';
import { createDeadLetterQueue, type DeadLetterQueueOptions } from '../dlq/from-config.js';
import { type DeadLetterRecord, idMatches, recordId } from '../dlq/record.js';
import { type RedriveOutcome, redrive } from '../dlq/redrive.js';
import type { DeadLetterEntry, DeadLetterQueue } from '../dlq/sink.js';
import { ConfigError, errorMessage } from '../errors.js';
import { createEtcdClient } from '../etcd/client.js';
import { InProcessInvoker } from '../invoke/in-process.js';
import type { Invoker } from '../invoke/invoker.js';
import { LambdaInvoker } from '../invoke/lambda.js';
import { type Keyspace, keyspaceFor } from '../keyspace.js';
import { CONFIG_FLAGS, configFromFlags } from './config-flags.js';
import { type ProgressBar, progressBar } from './progress.js';
import { CliUsageError, parseCommandLine } from './usage.js';

const SHARED = '[--config F] [--etcd URL,...] [--group NAME]';
export const DLQ_USAGE = [
  `etcd-bridge dlq list [--route R] [--limit N] [--json] ${SHARED}`,
  `  etcd-bridge dlq show <id> [--json] ${SHARED}`,
  `  etcd-bridge dlq redrive [--route R] [--id ID] [--invoke inprocess|lambda] [--lambda-endpoint URL] [--json] ${SHARED}`,
].join('\n');

/** Where a command writes; the process's streams unless a test passes its own. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  progress(label: string): ProgressBar;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  progress: (label) => progressBar(label),
};

/** What a command connects to; tests may hand in their own (an SQS client under aws-sdk-client-mock). */
export interface DlqDeps {
  io?: CliIo;
  queueOptions?: DeadLetterQueueOptions;
  /** Used instead of the one `--invoke` names. */
  invoker?: Invoker;
}

const FLAGS = {
  config: CONFIG_FLAGS.config,
  etcd: CONFIG_FLAGS.etcd,
  group: CONFIG_FLAGS.group,
  invoke: CONFIG_FLAGS.invoke,
  'lambda-endpoint': CONFIG_FLAGS['lambda-endpoint'],
  route: { type: 'string' },
  id: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

/** Flags each subcommand takes besides the shared config flags. */
const ALLOWED: Record<string, readonly string[]> = {
  list: ['route', 'limit', 'json'],
  show: ['json'],
  redrive: ['route', 'id', 'invoke', 'lambda-endpoint', 'json'],
};

export function dlqCommand(args: string[]): Promise<number> {
  return runDlq(args);
}

export async function runDlq(args: string[], deps: DlqDeps = {}): Promise<number> {
  const io = deps.io ?? processIo;
  const { values, positionals } = parseCommandLine('dlq', args, FLAGS);
  const [sub, ...rest] = positionals;
  const allowed = sub === undefined ? undefined : ALLOWED[sub];
  if (sub === undefined || allowed === undefined)
    throw new CliUsageError(`dlq: expected list, show or redrive, got ${sub ?? 'nothing'}`);
  for (const flag of Object.keys(values)) {
    if (flag === 'json' && !values.json) continue;
    if (!['config', 'etcd', 'group', ...allowed].includes(flag))
      throw new CliUsageError(`dlq ${sub}: --${flag} does not apply here`);
  }
  if (sub === 'show' ? rest.length !== 1 : rest.length > 0)
    throw new CliUsageError(
      sub === 'show' ? 'dlq show: expected one record id' : `dlq ${sub}: unexpected argument ${rest[0]}`,
    );
  let limit = 1000;
  if (values.limit !== undefined) {
    limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1)
      throw new CliUsageError(`dlq list: --limit must be a whole number >= 1, got ${values.limit}`);
  }

  let config: BridgeConfig;
  try {
    config = await configFromFlags(values);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(`etcd-bridge dlq: ${error.message}\n`);
    return 2;
  }
  if (values.route !== undefined && !config.routes.some((r) => r.name === values.route))
    throw new CliUsageError(
      `dlq ${sub}: --route ${values.route} is not a configured route (${config.routes.map((r) => r.name).join(', ')})`,
    );

  const client = createEtcdClient(config.etcd);
  const keyspace = keyspaceFor(config.group);
  const queue = createDeadLetterQueue(config, client, keyspace, deps.queueOptions);
  try {
    if (sub === 'list') return await list(io, queue, config, values.route, limit, values.json);
    if (sub === 'show') return await show(io, queue, config, rest[0]!, values.json);
    return await redriveCommand(io, { client, keyspace, queue, config, deps }, values);
  } catch (error) {
    if (error instanceof CliUsageError) throw error;
    io.err(`etcd-bridge dlq ${sub}: ${errorMessage(error)}\n`);
    return 1;
  } finally {
    client.close();
  }
}

/** Every entry of the routes in scope; on SQS, handed back (visible again) once read. */
async function listAll(
  queue: DeadLetterQueue,
  config: BridgeConfig,
  route: string | undefined,
  limit: number,
): Promise<DeadLetterEntry[]> {
  const routes = route === undefined ? config.routes.map((r) => r.name) : [route];
  const entries: DeadLetterEntry[] = [];
  try {
    for (const name of routes) entries.push(...(await queue.list(name, limit)));
  } finally {
    await queue.release(entries);
  }
  return entries;
}

function asJson(record: DeadLetterRecord): Record<string, unknown> {
  return { id: recordId(record), ...record };
}

async function list(
  io: CliIo,
  queue: DeadLetterQueue,
  config: BridgeConfig,
  route: string | undefined,
  limit: number,
  json: boolean,
): Promise<number> {
  const entries = await listAll(queue, config, route, limit);
  if (json) {
    io.out(`${JSON.stringify(entries.map((e) => asJson(e.record)))}\n`);
    return 0;
  }
  for (const { record } of entries) {
    const error = `${record.errorType}: ${record.errorMessage.split('\n')[0] ?? ''}`;
    io.out(
      `${recordId(record)}  ${record.key}@${record.modRevision}  attempts ${record.attempts}  ${record.deadLetteredAt}  ${error.length > 120 ? `${error.slice(0, 117)}...` : error}\n`,
    );
  }
  io.out(`${entries.length} dead-lettered record(s) in the ${queue.kind} queue\n`);
  return 0;
}

async function show(
  io: CliIo,
  queue: DeadLetterQueue,
  config: BridgeConfig,
  id: string,
  json: boolean,
): Promise<number> {
  const route = id.split('/')[0];
  const scope = config.routes.some((r) => r.name === route) ? route : undefined;
  const matches = (await listAll(queue, config, scope, Number.MAX_SAFE_INTEGER)).filter((e) =>
    idMatches(e.record, id),
  );
  if (matches.length === 0) {
    io.err(`etcd-bridge dlq show: no dead-lettered record ${id}\n`);
    return 1;
  }
  if (matches.length > 1) {
    io.err(
      `etcd-bridge dlq show: ${id} names ${matches.length} records; give one of:\n${matches.map((m) => `  ${recordId(m.record)}\n`).join('')}`,
    );
    return 1;
  }
  const record = matches[0]!.record;
  if (json) {
    io.out(`${JSON.stringify(asJson(record))}\n`);
    return 0;
  }
  const lines: Array<[string, string]> = [
    ['id', recordId(record)],
    ['route', record.route],
    ['key', record.key],
    ['type', record.type],
    ['revision', record.modRevision],
    ['error', `${record.errorType}: ${record.errorMessage}`],
    ['attempts', String(record.attempts)],
    ['first attempt', record.firstAttemptAt],
    ['last attempt', record.lastAttemptAt],
    ['dead-lettered', record.deadLetteredAt],
    ['bridge', record.bridgeId],
    ['value size', `${record.valueSize} bytes, sha256 ${record.valueSha256}`],
  ];
  for (const [name, value] of lines) io.out(`${`${name}:`.padEnd(15)}${value}\n`);
  if (record.value === null) io.out('value:         (none: a delete)\n');
  else if (record.value === undefined) io.out('value:         (left out: over the queue size limit)\n');
  else if (record.valueEncoding === 'base64') io.out(`value (base64, not UTF-8):\n${record.value}\n`);
  else io.out(`value:\n${record.value}\n`);
  return 0;
}

async function redriveCommand(
  io: CliIo,
  ctx: { client: Etcd3; keyspace: Keyspace; queue: DeadLetterQueue; config: BridgeConfig; deps: DlqDeps },
  values: { route?: string | undefined; id?: string | undefined; json?: boolean | undefined },
): Promise<number> {
  const { config } = ctx;
  if (values.route !== undefined && values.id !== undefined && !values.id.startsWith(`${values.route}/`))
    throw new CliUsageError(`dlq redrive: --id ${values.id} is not a record of --route ${values.route}`);
  const idRoute = values.id?.split('/')[0];
  const route = values.route ?? (config.routes.some((r) => r.name === idRoute) ? idRoute : undefined);
  const invoker = ctx.deps.invoker ?? createInvoker(config);
  const bar = io.progress('redrive');
  let outcomes: RedriveOutcome[];
  try {
    outcomes = await redrive({
      client: ctx.client,
      keyspace: ctx.keyspace,
      queue: ctx.queue,
      invoker,
      routes: config.routes,
      ...(route !== undefined ? { route } : {}),
      ...(values.id !== undefined ? { id: values.id } : {}),
      onProgress: (done, total) => bar.update(done, total),
    });
  } finally {
    bar.done();
    if (!ctx.deps.invoker) await invoker.close?.();
  }

  const counts = { redriven: 0, superseded: 0, failed: 0, skipped: 0 };
  for (const outcome of outcomes) counts[outcome.kind]++;
  if (values.json) {
    io.out(
      `${JSON.stringify({
        ...counts,
        outcomes: outcomes.map((o) => ({
          outcome: o.kind,
          id: o.id,
          key: o.record.key,
          modRevision: o.record.modRevision,
          ...(o.kind === 'redriven' ? { writes: o.writes } : {}),
          ...(o.kind === 'superseded' ? { appliedRevision: o.appliedRevision } : {}),
          ...(o.kind === 'failed'
            ? { errorType: o.record.errorType, error: o.record.errorMessage, attempts: o.record.attempts }
            : {}),
          ...(o.kind === 'skipped' ? { reason: o.reason } : {}),
        })),
      })}\n`,
    );
  } else {
    for (const o of outcomes) io.out(`${describe(o)}\n`);
    io.out(
      `redrive: ${counts.redriven} redriven, ${counts.superseded} superseded, ${counts.failed} failed again, ${counts.skipped} skipped\n`,
    );
  }
  if (values.id !== undefined && outcomes.length === 0) {
    io.err(`etcd-bridge dlq redrive: no dead-lettered record ${values.id}\n`);
    return 1;
  }
  return counts.failed + counts.skipped > 0 ? 1 : 0;
}

function describe(o: RedriveOutcome): string {
  const what = `${o.id} (${o.record.key}@${o.record.modRevision})`;
  switch (o.kind) {
    case 'redriven':
      return `redriven   ${what}: ${o.writes} write(s) committed, removed from the queue`;
    case 'superseded':
      return `superseded ${what}: revision ${o.appliedRevision} of the key was applied since; dropped without writing`;
    case 'failed':
      return `failed     ${what}: ${o.record.errorType}: ${o.record.errorMessage} (attempts ${o.record.attempts}; still dead-lettered)`;
    case 'skipped':
      return `skipped    ${what}: ${o.reason}`;
  }
}

/** The invoker `--invoke` names, as the bridge builds it; in-process function logs go to stderr. */
function createInvoker(config: BridgeConfig): Invoker {
  if (config.invoke.mode === 'lambda') {
    return new LambdaInvoker({
      ...(config.invoke.endpoint ? { endpoint: config.invoke.endpoint } : {}),
      ...(config.invoke.region ? { region: config.invoke.region } : {}),
      timeoutMs: config.invoke.timeoutMs,
    });
  }
  // Powertools in the stage functions logs to stdout; stdout here is the command's own output.
  process.env.POWERTOOLS_DEV = 'true';
  globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr });
  return new InProcessInvoker(config.invoke.timeoutMs);
}
