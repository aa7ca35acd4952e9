/**
 * `dev` on a terminal: one human line per record the bridge processes, read from the bridge's own
 * bookkeeping (every processed record moves its applied marker; a dead-lettered one also gets a
 * dead-letter entry in the same transaction), so it shows what was committed, not what was meant.
 */
import type { Etcd3, Watcher } from 'etcd3';
import { DeadLetterRecordSchema } from '../dlq/record.js';
import type { Keyspace } from '../keyspace.js';
import { unpadRevision } from '../keyspace.js';

export interface RecordLine {
  readonly route: string;
  readonly key: string;
  readonly revision: string;
  /** Set when the record was dead-lettered: `errorType: message`. */
  readonly deadLettered?: string;
}

/** The records one etcd revision (one commit transaction) processed, from its bookkeeping puts. */
export function recordLines(
  keyspace: Keyspace,
  routes: readonly string[],
  puts: ReadonlyArray<{ key: string; value: string }>,
): RecordLine[] {
  const appliedRoot = `${keyspace.root}applied/`;
  const dlqRoot = keyspace.dlqPrefix();
  const failures = new Map<string, string>();
  for (const put of puts) {
    if (!put.key.startsWith(dlqRoot)) continue;
    const parsed = DeadLetterRecordSchema.safeParse(safeJson(put.value));
    if (parsed.success)
      failures.set(
        `${parsed.data.route}\n${parsed.data.key}`,
        `${parsed.data.errorType}: ${parsed.data.errorMessage.split('\n')[0] ?? ''}`,
      );
  }
  const lines: RecordLine[] = [];
  for (const put of puts) {
    if (!put.key.startsWith(appliedRoot)) continue;
    const rest = put.key.slice(appliedRoot.length);
    // `<route><source key>`: source keys start with "/", route names never hold one.
    const route = routes.find((r) => rest.startsWith(`${r}/`));
    if (route === undefined) continue;
    const key = rest.slice(route.length);
    let revision: string;
    try {
      revision = unpadRevision(put.value);
    } catch {
      continue;
    }
    const failure = failures.get(`${route}\n${key}`);
    lines.push({ route, key, revision, ...(failure !== undefined ? { deadLettered: failure } : {}) });
  }
  return lines;
}

export function formatRecordLine(line: RecordLine, now = new Date()): string {
  const time = now.toISOString().slice(11, 19);
  const outcome = line.deadLettered === undefined ? 'committed' : `DEAD-LETTERED  ${line.deadLettered}`;
  const text = `${time}  ${line.route.padEnd(11)}  ${line.key} @${line.revision}  ${outcome}`;
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Watch the group's bookkeeping from `fromRevision` and print a line for each processed record. */
export async function printRecordLines(
  client: Etcd3,
  keyspace: Keyspace,
  routes: readonly string[],
  fromRevision: bigint,
  print: (line: string) => void,
): Promise<{ close(): Promise<void> }> {
  const watcher: Watcher = await client
    .watch()
    .prefix(keyspace.root)
    .startRevision(fromRevision.toString())
    .create();
  watcher.on('data', (response) => {
    const byRevision = new Map<string, Array<{ key: string; value: string }>>();
    for (const event of response.events) {
      if (event.type !== 'Put') continue;
      const revision = event.kv.mod_revision;
      const puts = byRevision.get(revision) ?? [];
      puts.push({ key: event.kv.key.toString('utf8'), value: event.kv.value.toString('utf8') });
      byRevision.set(revision, puts);
    }
    for (const puts of byRevision.values())
      for (const line of recordLines(keyspace, routes, puts)) print(formatRecordLine(line));
  });
  // Display only: a broken watch must not take the dev loop down.
  watcher.on('error', () => {});
  return { close: () => watcher.cancel() };
}
