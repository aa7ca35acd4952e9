/**
 * Long-lived gRPC streams (watch, lease keep-alive) on an endpoint the caller chooses.
 *
 * etcd3's pool picks a random host for every stream (`shuffledHosts` in connection-pool.ts), so a
 * stream that broke on a bad member may well be reopened on the same member. And it handles a
 * stream's 'error' by resetting every channel of that host (`markFailed` → `resetAllServices`), for
 * any "recoverable" error, which includes the CANCELLED a client sees when it cancels its own stream:
 * the channels close, gRPC shuts their connection down gracefully, and the next keepalive ping on
 * the closing connection drops every other stream on it ("14 UNAVAILABLE: Connection dropped", ~5 s
 * after a watch was cancelled: the idle churn of `npm start`).
 *
 * So here each endpoint gets a pool of its own with no breaker and its own connection (a local
 * subchannel pool: never shared with the unary client's channels, whose resets must not touch these
 * streams), streams are opened without etcd3's error hook, and every stream asks for a leader
 * (`hasleader: true`). The owner of a stream decides, after a failure, to go on with `next(index)`.
 */

import { noop } from 'cockatiel';
import type { Etcd3, IOptions } from 'etcd3';
import { ConnectionPool } from 'etcd3/lib/connection-pool.js';
import type {
  ILeaseKeepAliveRequest,
  ILeaseKeepAliveResponse,
  IWatchRequest,
  IWatchResponse,
} from 'etcd3/lib/rpc.js';

/**
 * Channel options of the stream pools. These channels live as long as the bridge (etcd3's pool, by
 * contrast, throws its channels away after a failure), so gRPC's reconnect backoff would grow on
 * them while a member is down (1 s × 1.6 per attempt, up to 120 s): after a restart of the whole
 * cluster, a watch or the lease keep-alive could wait for seconds for a connection etcd would
 * already accept, and the lease expire meanwhile. Capped at 1 s here.
 */
const STREAM_CHANNEL_OPTIONS = {
  'grpc.use_local_subchannel_pool': 1,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
};

/** A bidirectional gRPC stream as grpc-js gives it (the part the bridge uses). */
export interface BidiStream<Req, Res> {
  write(request: Req): unknown;
  end(): void;
  cancel(): void;
  on(event: 'data', fn: (response: Res) => void): unknown;
  on(event: 'error', fn: (error: Error) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
}

export type WatchStream = BidiStream<IWatchRequest, IWatchResponse>;
export type KeepAliveStream = BidiStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

/** Where streams come from: endpoints by index, and which one to try after one failed. */
export interface StreamSource {
  readonly size: number;
  /** The endpoint's URL, for logs. */
  describe(index: number): string;
  /** The endpoint to use after a stream on `index` failed: the next one, never the same (if there are others). */
  next(index: number): number;
  watch(index: number): Promise<WatchStream>;
  leaseKeepAlive(index: number): Promise<KeepAliveStream>;
  /**
   * etcd refused the token a stream on `index` was opened with (expired: simple tokens live
   * --auth-token-ttl, 5 min by default; or the user's password changed): the next stream logs in
   * again. etcd3 does this itself for unary calls only.
   */
  invalidateAuth?(index: number): void;
}

interface StreamMethods {
  watch(metadata: unknown, options: object): WatchStream;
  leaseKeepAlive(metadata: unknown, options: object): KeepAliveStream;
}

/** etcd3's pool keeps its login in a private `authenticator` (what its own `exec` resets). */
interface PoolWithAuthenticator {
  readonly authenticator?: { invalidateMetadata(): void };
}

interface CloneableMetadata {
  clone(): { set(key: string, value: string): void };
}

/**
 * Ends a stream without it counting as a failure anywhere: half-close first (etcd's server then
 * ends the call with OK), then cancel to free it at once even if the server never answers. After
 * `end()` the stream is no longer writable, which is what etcd3's own error hook checks before it
 * resets the host, so this is also safe for a stream etcd3 opened.
 */
export function closeStream(stream: BidiStream<unknown, unknown>): void {
  // grpc-js reports the cancel below as an 'error' (CANCELLED) on the stream. A stream closed before
  // its owner listened (a watch stopped while it was still opening) would throw it as uncaught and
  // end the process; after a close nobody wants it.
  stream.on('error', () => {});
  try {
    stream.end();
  } catch {
    // Already ended or broken.
  }
  try {
    stream.cancel();
  } catch {
    // Already finished.
  }
}

export class EndpointStreams implements StreamSource {
  private readonly pools: ConnectionPool[];
  private readonly urls: string[];

  constructor(options: IOptions) {
    const hosts = options.hosts ?? '127.0.0.1:2379';
    this.urls = typeof hosts === 'string' ? [hosts] : [...hosts];
    this.pools = this.urls.map(
      (url) =>
        new ConnectionPool({
          ...options,
          hosts: [url],
          // The owner of each stream retries on its own schedule and on another endpoint.
          faultHandling: { host: () => noop, global: noop },
          grpcOptions: { ...options.grpcOptions, ...STREAM_CHANNEL_OPTIONS },
        }),
    );
  }

  get size(): number {
    return this.urls.length;
  }

  describe(index: number): string {
    return this.urls[index % this.urls.length] ?? '?';
  }

  next(index: number): number {
    return (index + 1) % this.urls.length;
  }

  watch(index: number): Promise<WatchStream> {
    return this.open(index, 'Watch', (client, metadata) => client.watch(metadata, {}));
  }

  leaseKeepAlive(index: number): Promise<KeepAliveStream> {
    return this.open(index, 'Lease', (client, metadata) => client.leaseKeepAlive(metadata, {}));
  }

  invalidateAuth(index: number): void {
    const pool = this.pools[index % this.pools.length] as unknown as PoolWithAuthenticator | undefined;
    pool?.authenticator?.invalidateMetadata();
  }

  close(): void {
    for (const pool of this.pools) pool.close();
  }

  private open<S>(
    index: number,
    service: 'Watch' | 'Lease',
    call: (client: StreamMethods, metadata: unknown) => S,
  ): Promise<S> {
    const pool = this.pools[index % this.pools.length];
    if (pool === undefined) return Promise.reject(new Error('no etcd endpoints'));
    return pool.withConnection(service, ({ client, metadata }) => {
      // The pool's metadata object may be shared (the auth token): add to a copy.
      const withLeader = (metadata as unknown as CloneableMetadata).clone();
      withLeader.set('hasleader', 'true');
      return call(client as unknown as StreamMethods, withLeader);
    });
  }
}

/**
 * Streams through a plain Etcd3 (a test's client): one "endpoint", etcd3's own host choice. Only
 * the bridge's own client (`BridgeEtcd`) can move a stream to another member.
 */
export class SingleClientStreams implements StreamSource {
  readonly size = 1;

  constructor(private readonly client: Etcd3) {}

  describe(): string {
    return 'etcd';
  }

  next(): number {
    return 0;
  }

  async watch(): Promise<WatchStream> {
    return (await this.client.watchClient.watch()) as unknown as WatchStream;
  }

  async leaseKeepAlive(): Promise<KeepAliveStream> {
    return (await this.client.leaseClient.leaseKeepAlive()) as unknown as KeepAliveStream;
  }
}

/** The streams of a client: its own per-endpoint ones if it is the bridge's client. */
export function streamsOf(client: Etcd3): StreamSource {
  const endpoints = (client as { endpoints?: unknown }).endpoints;
  return endpoints instanceof EndpointStreams ? endpoints : new SingleClientStreams(client);
}
