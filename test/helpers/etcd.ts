import { Etcd3, type IOptions, type IWatchResponse } from 'etcd3';
import { EmbeddedEtcd, type EmbeddedEtcdOptions } from '../../bridge/etcd/embedded-etcd.js';

export interface EtcdFixture {
  etcd: EmbeddedEtcd;
  client: Etcd3;
}

export interface StartEtcdOptions extends EmbeddedEtcdOptions {
  /** Extra etcd3 client options; `hosts` defaults to the new server. */
  client?: Partial<IOptions>;
}

const started = new Set<EtcdFixture>();

/** Client options for tests: a unary call that hangs (etcd down, proxy cut) fails after 10 s instead of never. */
export function testClientOptions(url: string, overrides: Partial<IOptions> = {}): IOptions {
  return {
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 10_000 }),
    ...overrides,
    hosts: overrides.hosts ?? url,
  };
}

/** Starts a private etcd (free ports, temp data dir) and an etcd3 client connected to it. */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdFixture> {
  const { client: clientOptions, ...etcdOptions } = options;
  const etcd = await EmbeddedEtcd.start(etcdOptions);
  const fixture = { etcd, client: new Etcd3(testClientOptions(etcd.clientUrl, clientOptions)) };
  started.add(fixture);
  return fixture;
}

/** Closes the client and stops etcd (removing its temp data dir); with no argument, every fixture started here. */
export async function stopEtcd(fixture?: EtcdFixture): Promise<void> {
  const fixtures = fixture === undefined ? [...started] : [fixture];
  await Promise.all(
    fixtures.map(async (f) => {
      started.delete(f);
      f.client.close();
      await f.etcd.stop();
    }),
  );
}

export interface HistoryEvent {
  key: string;
  type: 'put' | 'delete';
  /** Empty for deletes. */
  value: string;
  modRevision: number;
  /** 0 for deletes. */
  createRevision: number;
  /** Per-key write count since creation; 0 for deletes. */
  version: number;
}

export class HistoryCompactedError extends Error {
  override readonly name = 'HistoryCompactedError';
}

/** The store's current revision (the revision of the latest write). */
export async function currentRevision(client: Etcd3): Promise<number> {
  // Any read carries the revision in its header; a key nobody uses keeps the read cheap.
  const response = await client.get('\u0000').exec();
  return Number(response.header.revision);
}

/**
 * etcd's own record of every put and delete under `prefix`, from revision 1 to now, in revision order.
 * This is the ground truth tests compare against ("nothing lost, nothing duplicated").
 *
 * It watches ALL keys from revision 1 and filters locally: every revision above 1 is made by some
 * write, so seeing the current revision proves the history is complete, whereas a prefix-only watch
 * cannot tell "no more events under the prefix" from "not delivered yet".
 */
export async function history(
  source: Etcd3 | string,
  prefix: string,
  timeoutMs = 15_000,
): Promise<HistoryEvent[]> {
  const client = typeof source === 'string' ? new Etcd3(testClientOptions(source)) : source;
  try {
    const target = await currentRevision(client);
    if (target <= 1) return [];
    const stream = await client.watchClient.watch();
    try {
      return await collect(stream, target, timeoutMs, (response) =>
        response.events
          .filter((event) => event.kv.key.toString('utf8').startsWith(prefix))
          .map((event) => ({
            key: event.kv.key.toString('utf8'),
            type: event.type === 'Put' ? ('put' as const) : ('delete' as const),
            value: event.kv.value.toString('utf8'),
            modRevision: Number(event.kv.mod_revision),
            createRevision: Number(event.kv.create_revision),
            version: Number(event.kv.version),
          })),
      );
    } finally {
      stream.cancel();
    }
  } finally {
    if (client !== source) client.close();
  }
}

type WatchStream = Awaited<ReturnType<Etcd3['watchClient']['watch']>>;

function collect(
  stream: WatchStream,
  target: number,
  timeoutMs: number,
  pick: (response: IWatchResponse) => HistoryEvent[],
): Promise<HistoryEvent[]> {
  return new Promise((resolve, reject) => {
    const events: HistoryEvent[] = [];
    const timer = setTimeout(
      () => reject(new Error(`history(): revision ${target} not reached within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(events);
    };
    stream.on('error', (error) => finish(error));
    stream.on('end', () => finish(new Error('history(): watch stream ended early')));
    stream.on('data', (response) => {
      if (response.canceled) {
        const compacted = Number(response.compact_revision);
        finish(
          compacted > 0
            ? new HistoryCompactedError(`history(): etcd compacted history up to revision ${compacted}`)
            : new Error(`history(): watch canceled: ${response.cancel_reason}`),
        );
        return;
      }
      for (const event of pick(response)) events.push(event); // no spread: a response may hold 100k events
      // Events of one revision always arrive in the same response, so this response completes `target`.
      const last = response.events.at(-1);
      if (last !== undefined && Number(last.kv.mod_revision) >= target) finish();
    });
    // key "\0" with range_end "\0" means every key.
    stream.write({
      create_request: { key: Buffer.from([0]), range_end: Buffer.from([0]), start_revision: 1 },
    });
  });
}
