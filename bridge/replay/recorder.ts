/**
 * Records every write etcd makes from a revision on, over the whole keyspace (a raw watch on all
 * keys). Every revision is made by some write, so having seen the current revision proves the
 * record is complete — which is how the replay knows the pipeline has settled.
 */
import type { Etcd3, IWatchResponse } from 'etcd3';

export interface RecordedWrite {
  readonly key: string;
  readonly action: 'put' | 'delete';
  readonly value: string | null;
  readonly revision: bigint;
}

export class KeyspaceRecorder {
  readonly writes: RecordedWrite[] = [];
  private seen = 0n;
  private stream: Awaited<ReturnType<Etcd3['watchClient']['watch']>> | undefined;
  private failure: Error | undefined;

  static async start(client: Etcd3, fromRevision: bigint): Promise<KeyspaceRecorder> {
    const recorder = new KeyspaceRecorder();
    recorder.seen = fromRevision - 1n;
    const stream = await client.watchClient.watch();
    recorder.stream = stream;
    stream.on('data', (res: IWatchResponse) => recorder.onResponse(res));
    stream.on('error', (error: Error) => {
      recorder.failure = error;
    });
    stream.write({
      create_request: {
        key: Buffer.from([0]),
        range_end: Buffer.from([0]),
        start_revision: fromRevision.toString(),
      },
    });
    return recorder;
  }

  get seenRevision(): bigint {
    if (this.failure) throw new Error(`recorder watch failed: ${this.failure.message}`);
    return this.seen;
  }

  private onResponse(res: IWatchResponse): void {
    if (res.canceled) {
      this.failure = new Error(
        `recorder watch canceled: ${res.cancel_reason || `compacted at ${res.compact_revision}`}`,
      );
      return;
    }
    for (const event of res.events) {
      const revision = BigInt(event.kv.mod_revision);
      this.writes.push({
        key: event.kv.key.toString('utf8'),
        action: event.type === 'Delete' ? 'delete' : 'put',
        value: event.type === 'Delete' ? null : event.kv.value.toString('utf8'),
        revision,
      });
      if (revision > this.seen) this.seen = revision;
    }
  }

  /** Resolves once every write up to `revision` has been recorded. */
  async waitFor(revision: bigint, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.seenRevision < revision) {
      if (Date.now() > deadline)
        throw new Error(`recorder did not reach revision ${revision} in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  close(): void {
    this.stream?.cancel();
  }
}
