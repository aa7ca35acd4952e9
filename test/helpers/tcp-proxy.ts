import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * How a cut behaves:
 * - 'reset': live connections are reset and new ones are accepted then reset at once, like a peer
 *   that went away. Clients notice immediately.
 * - 'blackhole': live connections are frozen (bytes stay queued, nothing flows) and new connections
 *   are accepted but never forwarded, like a network partition. Clients only notice through their own
 *   timeouts or keepalives; restore() lets the queued bytes through, as a healed partition would.
 */
export type CutMode = 'reset' | 'blackhole';

interface Link {
  client: Socket;
  upstream: Socket | undefined;
  /** Piping is not idempotent (a second pipe() duplicates bytes), so track it. */
  flowing: boolean;
}

/** Byte-level TCP proxy (so HTTP/2 and gRPC pass untouched) used to cut the network between a client and etcd. */
export class TcpProxy {
  private readonly links = new Set<Link>();
  private mode: CutMode | undefined;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly targetHost: string,
    readonly targetPort: number,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens on a free port of 127.0.0.1 and forwards to `target` (a URL such as http://127.0.0.1:2379, or host:port). */
  static async start(target: string): Promise<TcpProxy> {
    const url = new URL(target.includes('://') ? target : `tcp://${target}`);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
    return new TcpProxy(server, address.port, url.hostname, Number(url.port));
  }

  /** `host:port` for etcd3's `hosts` option. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `http://${this.address}`;
  }

  get isCut(): boolean {
    return this.mode !== undefined;
  }

  get connectionCount(): number {
    return this.links.size;
  }

  cut(mode: CutMode = 'reset'): void {
    this.mode = mode;
    for (const link of this.links) {
      if (mode === 'reset') this.drop(link);
      else this.freeze(link);
    }
  }

  /** Accepts and forwards again; connections frozen by a blackhole cut resume where they stopped. */
  restore(): void {
    this.mode = undefined;
    for (const link of this.links) this.forward(link);
  }

  async close(): Promise<void> {
    this.mode = 'reset';
    for (const link of this.links) this.drop(link);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const link: Link = { client, upstream: undefined, flowing: false };
    this.links.add(link);
    client.on('error', () => this.drop(link));
    client.on('close', () => this.drop(link));
    if (this.mode === 'blackhole') this.freeze(link);
    else this.forward(link);
  }

  /** Connects upstream lazily, so a connection accepted during a blackhole reaches etcd only after restore(). */
  private forward(link: Link): void {
    if (link.flowing) return;
    link.flowing = true;
    if (link.upstream === undefined) {
      const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
      upstream.setNoDelay(true);
      upstream.on('error', () => this.drop(link));
      upstream.on('close', () => this.drop(link));
      link.upstream = upstream;
    }
    link.client.setNoDelay(true);
    link.client.pipe(link.upstream);
    link.upstream.pipe(link.client);
  }

  private freeze(link: Link): void {
    link.flowing = false;
    link.client.unpipe();
    link.client.pause();
    link.upstream?.unpipe();
    link.upstream?.pause();
  }

  private drop(link: Link): void {
    if (!this.links.delete(link)) return;
    // A reset (RST) rather than a FIN: the peer sees ECONNRESET, as when a host or link dies.
    if (!link.client.destroyed) link.client.resetAndDestroy();
    if (link.upstream !== undefined && !link.upstream.destroyed) link.upstream.resetAndDestroy();
  }
}
