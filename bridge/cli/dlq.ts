/**
 * `etcd-bridge dlq list|show|redrive|delete|purge`: the dead-letter queue of a group, on the etcd sink (default)
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
import type { DeadLetterEntry, DeadLetterQueue, OnUnreadable, UnreadableEntry } from '../dlq/sink.js';
import { ConfigError } from '../errors.js';
import { createEtcdClient } from '../etcd/client.js';
import { InProcessInvoker } from '../invoke/in-process.js';
import type { Invoker } from '../invoke/invoker.js';
import { LambdaInvoker } from '../invoke/lambda-sdk.js';
import { type Keyspace, keyspaceFor } from '../keyspace.js';
import { type ConfigFlagValues, configFromFlags } from './config-flags.js';
import {
  DLQ_DELETE,
  DLQ_LIST,
  DLQ_PURGE,
  DLQ_REDRIVE,
  DLQ_SHOW,
  DLQ_SUBCOMMANDS,
  type DlqSubcommand,
} from './definitions.js';
import { failureText } from './failure.js';
import { type ProgressBar, progressBar } from './progress.js';
import { CliFailure, CliUsageError, parseCommandLine } from './usage.js';

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
  /** Asks a yes/no question; undefined when nobody can answer (no terminal). Default: stdin. */
  confirm?(question: string): Promise<boolean | undefined>;
}

export function dlqCommand(args: string[]): Promise<number> {
  return runDlq(args);
}

function isSubcommand(name: string): name is DlqSubcommand {
  return Object.hasOwn(DLQ_SUBCOMMANDS, name);
}

/** What every subcommand works with once its flags are parsed. */
interface DlqContext {
  readonly io: CliIo;
  readonly client: Etcd3;
  readonly keyspace: Keyspace;
  readonly queue: DeadLetterQueue;
  readonly config: BridgeConfig;
  readonly deps: DlqDeps;
}

export async function runDlq(args: string[], deps: DlqDeps = {}): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || !isSubcommand(sub))
    throw new CliUsageError(
      `dlq: expected ${Object.keys(DLQ_SUBCOMMANDS).join(', ')}, got ${sub ?? 'nothing'}`,
    );
  switch (sub) {
    case 'list': {
      const { values, positionals } = parseCommandLine('dlq list', rest, DLQ_LIST.flags);
      noPositionals(sub, positionals);
      const limit = Number(values.limit);
      if (!/^[0-9]+$/.test(values.limit) || limit < 1)
        throw new CliUsageError(`dlq list: --limit must be a whole number >= 1, got ${values.limit}`);
      return withQueue(sub, values, deps, (ctx) => list(ctx, values.route, limit, values.json));
    }
    case 'show': {
      const { values, positionals } = parseCommandLine('dlq show', rest, DLQ_SHOW.flags);
      const id = oneId(sub, positionals);
      return withQueue(sub, values, deps, (ctx) => show(ctx, id, values.json));
    }
    case 'redrive': {
      const { values, positionals } = parseCommandLine('dlq redrive', rest, DLQ_REDRIVE.flags);
      noPositionals(sub, positionals);
      return withQueue(sub, values, deps, (ctx) => redriveCommand(ctx, values));
    }
    case 'delete': {
      const { values, positionals } = parseCommandLine('dlq delete', rest, DLQ_DELETE.flags);
      const id = oneId(sub, positionals);
      return withQueue(sub, { ...values, route: undefined }, deps, (ctx) => deleteOne(ctx, id, values));
    }
    case 'purge': {
      const { values, positionals } = parseCommandLine('dlq purge', rest, DLQ_PURGE.flags);
      noPositionals(sub, positionals);
      const route = values.route;
      if (route === undefined) throw new CliUsageError('dlq purge: --route R is required');
      return withQueue(sub, values, deps, (ctx) => purge(ctx, route, values));
    }
  }
}

function noPositionals(sub: string, positionals: string[]): void {
  if (positionals.length > 0) throw new CliUsageError(`dlq ${sub}: unexpected argument ${positionals[0]}`);
}

function oneId(sub: string, positionals: string[]): string {
  const [id, extra] = positionals;
  if (id === undefined || extra !== undefined)
    throw new CliUsageError(`dlq ${sub}: expected one record id (as dlq list prints it)`);
  return id;
}

/** Config, etcd client and queue for one subcommand; its failures as one line and exit 1. */
async function withQueue(
  sub: DlqSubcommand,
  values: ConfigFlagValues & { route?: string | undefined },
  deps: DlqDeps,
  run: (ctx: DlqContext) => Promise<number>,
): Promise<number> {
  const io = deps.io ?? processIo;
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
    return await run({ io, client, keyspace, queue, config, deps });
  } catch (error) {
    if (error instanceof CliUsageError || error instanceof CliFailure) throw error;
    io.err(`etcd-bridge dlq ${sub}: ${failureText(error)}\n`);
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
  onUnreadable?: OnUnreadable,
): Promise<DeadLetterEntry[]> {
  const routes = route === undefined ? config.routes.map((r) => r.name) : [route];
  const entries: DeadLetterEntry[] = [];
  try {
    for (const name of routes) entries.push(...(await queue.list(name, limit, undefined, onUnreadable)));
  } finally {
    await queue.release(entries);
  }
  return entries;
}

/** Tells, on stderr, of an entry a listing skipped, and how to be rid of it. */
function warnUnreadable(io: CliIo, sub: string): OnUnreadable {
  return ({ id, reason }) =>
    io.err(`etcd-bridge dlq ${sub}: skipped ${id}: ${reason}; \`etcd-bridge dlq delete ${id}\` removes it\n`);
}

function asJson(record: DeadLetterRecord): Record<string, unknown> {
  return { id: recordId(record), ...record };
}

async function list(
  { io, queue, config }: DlqContext,
  route: string | undefined,
  limit: number,
  json: boolean,
): Promise<number> {
  const entries = await listAll(queue, config, route, limit, warnUnreadable(io, 'list'));
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

/** The one record `id` names (a full id, or a unique `<route>/<revision>`); or exit 1, said why. */
async function findOne(
  { io, queue, config }: DlqContext,
  sub: string,
  id: string,
  unreadable: UnreadableEntry[] = [],
): Promise<DeadLetterRecord | undefined> {
  const route = id.split('/')[0];
  const scope = config.routes.some((r) => r.name === route) ? route : undefined;
  const matches = (
    await listAll(queue, config, scope, Number.MAX_SAFE_INTEGER, (entry) => unreadable.push(entry))
  ).filter((e) => idMatches(e.record, id));
  if (matches.length === 0) {
    const named = unreadable.find((entry) => entry.id === id);
    io.err(
      named
        ? `etcd-bridge dlq ${sub}: ${id} is ${named.reason}\n`
        : `etcd-bridge dlq ${sub}: no dead-lettered record ${id}\n`,
    );
    return undefined;
  }
  if (matches.length > 1) {
    io.err(
      `etcd-bridge dlq ${sub}: ${id} names ${matches.length} records; give one of:\n${matches.map((m) => `  ${recordId(m.record)}\n`).join('')}`,
    );
    return undefined;
  }
  return matches[0]!.record;
}

async function show(ctx: DlqContext, id: string, json: boolean): Promise<number> {
  const { io } = ctx;
  const record = await findOne(ctx, 'show', id);
  if (record === undefined) return 1;
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
  ctx: DlqContext,
  values: { route?: string | undefined; id?: string | undefined; json?: boolean | undefined },
): Promise<number> {
  const { config, io } = ctx;
  if (values.route !== undefined && values.id !== undefined && !values.id.startsWith(`${values.route}/`))
    throw new CliUsageError(`dlq redrive: --id ${values.id} is not a record of --route ${values.route}`);
  // "Only this record": a short id (`<route>/<revision>`, or a bare route) must name exactly one,
  // as for `dlq show` and `dlq delete`; it is resolved to that record's full id first.
  let id = values.id;
  if (id !== undefined && id.replace(/\/+$/, '').split('/').length < 3) {
    const record = await findOne(ctx, 'redrive', id);
    if (record === undefined) return 1;
    id = recordId(record);
  }
  const idRoute = id?.split('/')[0];
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
      ...(id !== undefined ? { id } : {}),
      onProgress: (done, total) => bar.update(done, total),
      onUnreadable: warnUnreadable(io, 'redrive'),
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
            ? {
                errorType: o.failure.errorType,
                error: o.failure.message,
                verdict: o.failure.verdict,
                attempts: o.record.attempts,
                ...(o.updateFailure
                  ? { updateError: `${o.updateFailure.errorType}: ${o.updateFailure.message}` }
                  : {}),
              }
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
      // The cause as it came (first line), not a wrapper's; where the queue could not take the
      // new attempt, that too, since the entry then still shows the old error.
      return `failed     ${what}: ${o.failure.errorType}: ${firstLine(o.failure.message)} (${
        o.updateFailure
          ? `not recorded in the queue: ${o.updateFailure.errorType}: ${firstLine(o.updateFailure.message)}`
          : `attempts ${o.record.attempts}; still dead-lettered`
      })`;
    case 'skipped':
      return `skipped    ${what}: ${o.reason}`;
  }
}

/**
 * Confirmation for a destructive subcommand: `--yes`, or "y" typed on a terminal. Without a
 * terminal and without --yes it refuses (exit 2): a script must say it means it.
 */
async function confirmed(ctx: DlqContext, question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  const ask = ctx.deps.confirm ?? askOnTerminal;
  const answer = await ask(question);
  if (answer === undefined)
    throw new CliUsageError(`${question.replace(/\?$/, '')}: stdin is not a terminal; pass --yes to confirm`);
  if (!answer) ctx.io.err('nothing dropped\n');
  return answer;
}

async function askOnTerminal(question: string): Promise<boolean | undefined> {
  if (!process.stdin.isTTY) return undefined;
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

async function deleteOne(
  ctx: DlqContext,
  id: string,
  values: { yes: boolean; json: boolean },
): Promise<number> {
  const { io, queue } = ctx;
  const unreadable: UnreadableEntry[] = [];
  const record = await findOne(ctx, 'delete', id, unreadable);
  if (record === undefined) {
    // An entry that is no record can still be dropped by the id the listing told.
    const named = unreadable.find((entry) => entry.id === id);
    if (!named || !queue.deleteEntry) return 1;
    if (!(await confirmed(ctx, `Drop ${id} (${named.reason}) from the ${queue.kind} queue?`, values.yes)))
      return 1;
    const gone = await queue.deleteEntry(id);
    if (values.json) io.out(`${JSON.stringify({ deleted: gone ? [id] : [], queue: queue.kind })}\n`);
    else if (gone) io.out(`deleted ${id}\n`);
    return gone ? 0 : 1;
  }
  const fullId = recordId(record);
  const what = `${fullId} (${record.key}@${record.modRevision}, ${record.errorType})`;
  if (!(await confirmed(ctx, `Drop dead-lettered record ${what} from the ${queue.kind} queue?`, values.yes)))
    return 1;
  const deleted = await queue.delete(fullId);
  if (values.json) {
    io.out(`${JSON.stringify({ deleted: deleted === undefined ? [] : [fullId], queue: queue.kind })}\n`);
  } else if (deleted !== undefined) io.out(`deleted ${what}\n`);
  if (deleted === undefined) {
    io.err(`etcd-bridge dlq delete: ${fullId} went from the queue before it could be deleted\n`);
    return 1;
  }
  return 0;
}

async function purge(
  ctx: DlqContext,
  route: string,
  values: { yes: boolean; json: boolean },
): Promise<number> {
  const { io, queue } = ctx;
  const count = await queue.count(route);
  if (count === 0 && queue.kind === 'etcd') {
    io.out(
      values.json
        ? `${JSON.stringify({ route, purged: 0, queue: queue.kind })}\n`
        : `route ${route}: the dead-letter queue is empty\n`,
    );
    return 0;
  }
  const approx = queue.kind === 'sqs' ? 'about ' : '';
  if (
    !(await confirmed(
      ctx,
      `Drop all ${approx}${count} dead-lettered record(s) of route ${route} from the ${queue.kind} queue?`,
      values.yes,
    ))
  )
    return 1;
  const purged = await queue.purge(route);
  io.out(
    values.json
      ? `${JSON.stringify({ route, purged, queue: queue.kind, ...(queue.kind === 'sqs' ? { approximate: true } : {}) })}\n`
      : `route ${route}: purged ${approx}${purged} dead-lettered record(s) from the ${queue.kind} queue\n`,
  );
  return 0;
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

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
