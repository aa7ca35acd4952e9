/**
 * The dead-letter queue of one machine: records under `/_etcd-bridge/<group>/dlq/<route>/…`. The
 * bridge writes them inside its commit transaction (see committer), so a dead-lettered record and
 * its applied marker land together or not at all.
 */
import type { Etcd3, ICompare, IRequestOp } from 'etcd3';
import { compare, op, prefixRangeEnd } from '../etcd/ops.js';
import type { Keyspace } from '../keyspace.js';
import { type DeadLetterRecord, readDeadLetterRecord } from './record.js';
import type { DeadLetterEntry, DeadLetterQueue, OnUnreadable } from './sink.js';

/** Keys read per range request while listing. */
const PAGE = 500;

export class EtcdDeadLetterSink implements DeadLetterQueue {
  readonly kind = 'etcd' as const;
  /** etcd's default request limit is 1.5 MiB; leave room for the record's other fields. */
  readonly maxValueBytes = 1024 * 1024;

  constructor(
    private readonly client: Etcd3,
    private readonly keyspace: Keyspace,
  ) {}

  /** The etcd key and value of a record: `<dlq prefix><route>/<revision>/<source key, base64url>`. */
  write(record: DeadLetterRecord): { key: string; value: string } {
    const key = this.keyspace.dlq(
      record.route,
      record.modRevision,
      Buffer.from(record.key).toString('base64url'),
    );
    return { key, value: JSON.stringify(record) };
  }

  /** Entries by route, then revision (after the entry id `after`, if given); at most `limit`. */
  async list(
    route?: string,
    limit = 1000,
    after?: string,
    onUnreadable?: OnUnreadable,
  ): Promise<DeadLetterEntry[]> {
    const prefix = this.keyspace.dlqPrefix(route);
    const end = prefixRangeEnd(prefix);
    const entries: DeadLetterEntry[] = [];
    let from = after?.startsWith(prefix)
      ? Buffer.concat([Buffer.from(after, 'utf8'), Buffer.from([0])])
      : Buffer.from(prefix, 'utf8');
    let revision: string | undefined;
    while (entries.length < limit) {
      const page = await this.client.kv.range({
        key: from,
        range_end: end,
        limit: String(Math.min(PAGE, limit - entries.length)),
        // Every page from the first page's snapshot: a consistent listing.
        ...(revision ? { revision } : {}),
      });
      revision ??= page.header.revision;
      for (const kv of page.kvs) {
        const id = kv.key.toString('utf8');
        const read = readDeadLetterRecord(kv.value.toString('utf8'));
        if ('record' in read) entries.push({ id, record: read.record, version: kv.mod_revision });
        else onUnreadable?.({ id: this.entryId(id), reason: read.reason });
      }
      const last = page.kvs.at(-1);
      if (!page.more || !last) break;
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
    return entries;
  }

  /** The id `delete` takes for the entry at `key`: `<route>/<revision>/<discriminator>`, as `recordId` gives. */
  private entryId(key: string): string {
    const [route, revision, ...rest] = key.slice(this.keyspace.dlqPrefix().length).split('/');
    return /^[0-9]+$/.test(revision ?? '') ? [route, BigInt(revision!).toString(), ...rest].join('/') : key;
  }

  async count(route: string): Promise<number> {
    return this.client.getAll().prefix(this.keyspace.dlqPrefix(route)).count();
  }

  /** Deletes the entry unless it changed since it was listed. */
  async remove(entry: DeadLetterEntry): Promise<void> {
    const { compares, ops } = this.removalInTxn(entry);
    await this.client.kv.txn({ compare: compares, success: ops, failure: [] });
  }

  async replace(entry: DeadLetterEntry, record: DeadLetterRecord): Promise<void> {
    const result = await this.client.kv.txn({
      compare: this.guard(entry),
      success: [op.put(entry.id, JSON.stringify(record))],
      failure: [],
    });
    if (!result.succeeded) throw new Error(`dead-letter entry ${entry.id} changed since it was listed`);
  }

  async release(): Promise<void> {
    // Listing an etcd prefix takes nothing away from anyone.
  }

  async delete(id: string): Promise<DeadLetterRecord | undefined> {
    const kv = await this.deleteKey(id);
    if (!kv) return undefined;
    const read = readDeadLetterRecord(kv.value.toString('utf8'));
    // Gone either way; a value that was not a record has no record to return.
    return 'record' in read ? read.record : undefined;
  }

  /** Deletes the entry `id` names whatever its value (one that is not a record, too); true if there was one. */
  async deleteEntry(id: string): Promise<boolean> {
    return (await this.deleteKey(id)) !== undefined;
  }

  private async deleteKey(id: string) {
    const [route, revision, discriminator, ...rest] = id.split('/');
    if (!route || !revision || !/^[0-9]+$/.test(revision) || discriminator === undefined || rest.length > 0)
      return undefined;
    const deleted = await this.client
      .delete()
      .key(this.keyspace.dlq(route, revision, discriminator))
      .getPrevious();
    return deleted[0];
  }

  async purge(route: string): Promise<number> {
    const result = await this.client.delete().prefix(this.keyspace.dlqPrefix(route)).exec();
    return Number(result.deleted);
  }

  removalInTxn(entry: DeadLetterEntry): { compares: ICompare[]; ops: IRequestOp[] } {
    return { compares: this.guard(entry), ops: [op.delete(entry.id)] };
  }

  private guard(entry: DeadLetterEntry): ICompare[] {
    return entry.version === undefined ? [] : [compare.modRevision(entry.id, entry.version)];
  }
}
