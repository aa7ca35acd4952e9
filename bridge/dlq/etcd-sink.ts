/**
 * The dead-letter queue of one machine: records under `/_etcd-bridge/<group>/dlq/<route>/…`. The
 * bridge writes them inside its commit transaction (see committer), so a dead-lettered record and
 * its applied marker land together or not at all.
 */
import type { Etcd3 } from 'etcd3';
import type { Keyspace } from '../keyspace.js';
import { type DeadLetterRecord, DeadLetterRecordSchema } from './record.js';
import type { DeadLetterEntry, DeadLetterSink } from './sink.js';

export class EtcdDeadLetterSink implements DeadLetterSink {
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

  async list(route?: string, limit = 1000): Promise<DeadLetterEntry[]> {
    const kvs = await this.client.getAll().prefix(this.keyspace.dlqPrefix(route)).limit(limit).strings();
    return Object.entries(kvs).map(([id, text]) => ({
      id,
      record: DeadLetterRecordSchema.parse(JSON.parse(text)),
    }));
  }

  async remove(entry: DeadLetterEntry): Promise<void> {
    await this.client.delete().key(entry.id);
  }
}
