/**
 * A real 3-member etcd cluster on loopback, for tests of what a cluster does to the bridge: each
 * member on its own address (127.0.0.1x), free ports, a temporary data dir, etcd's production timing
 * (100 ms heartbeats, 1 s election timeout, pre-vote as etcd 3.5 has it by default).
 *
 * Faults: `kill` (SIGKILL) and `restart` a member, `moveLeader` (`etcdctl move-leader`), and
 * `cutOff` a member from its peers while clients still reach it — what a member behind a broken
 * switch port looks like. For that every member advertises a peer URL that is a proxy in front of
 * its real peer listener, and the proxy learns which member each peer connection comes from (etcd's
 * raft transport names itself in every request: the `X-Server-From` header of rafthttp). A cut drops
 * every peer connection to or from the member without telling anyone (bytes are held, new
 * connections accepted and never forwarded); healing resets the held ones, so etcd reconnects.
 * Nothing outside loopback is touched.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { EmbeddedEtcd, freePort } from '../../bridge/etcd/embedded-etcd.js';
import { findEtcdctl } from '../../bridge/etcd/find-etcd.js';
import { testClientOptions } from './etcd.js';

const run = promisify(execFile);

export interface EtcdClusterOptions {
  size?: number;
  /** Receives every line a member writes, prefixed with its name. */
  log?: (line: string) => void;
  /** More etcd flags for every member (e.g. `--quota-backend-bytes=...`). */
  extraArgs?: string[];
}

export interface ClusterMember {
  readonly index: number;
  readonly name: string;
  readonly host: string;
  readonly etcd: EmbeddedEtcd;
  readonly proxy: PeerProxy;
  /** etcd's member id, in hex as etcd prints it. */
  id: string;
}

/** The proxy in front of one member's peer listener. */
export class PeerProxy {
  private readonly links = new Set<PeerLink>();

  private constructor(
    private readonly server: Server,
    readonly host: string,
    readonly port: number,
    private readonly targetPort: number,
    private readonly blocked: (from: string | undefined) => boolean,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(
    host: string,
    targetPort: number,
    blocked: (from: string | undefined) => boolean,
  ): Promise<PeerProxy> {
    const server = createServer();
    const port = await freePort(host);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return new PeerProxy(server, host, port, targetPort, blocked);
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** Re-judges every connection: blocked ones are frozen, freed ones (after a cut) are reset. */
  update(): void {
    for (const link of this.links) {
      if (link.from === null) continue; // still reading its first request
      const blocked = this.blocked(link.from);
      if (blocked && link.flowing) this.freeze(link);
      else if (!blocked && !link.flowing) this.drop(link);
    }
  }

  async close(): Promise<void> {
    for (const link of this.links) this.drop(link);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const link: PeerLink = { client, upstream: undefined, from: null, flowing: false, head: [] };
    this.links.add(link);
    client.on('error', () => this.drop(link));
    client.on('close', () => this.drop(link));
    // Read the first request's headers to learn who is calling.
    const onData = (chunk: Buffer): void => {
      link.head.push(chunk);
      const text = Buffer.concat(link.head).toString('latin1');
      if (!text.includes('\r\n\r\n') && text.length < 16_384) return;
      client.off('data', onData);
      client.pause();
      link.from = /\r\nX-Server-From: *([0-9a-f]+)/i.exec(text)?.[1]?.toLowerCase();
      if (this.blocked(link.from)) this.freeze(link);
      else this.forward(link);
    };
    client.on('data', onData);
  }

  private forward(link: PeerLink): void {
    link.flowing = true;
    const upstream = createConnection({ host: this.host, port: this.targetPort });
    upstream.setNoDelay(true);
    upstream.on('error', () => this.drop(link));
    upstream.on('close', () => this.drop(link));
    link.upstream = upstream;
    for (const chunk of link.head) upstream.write(chunk);
    link.head = [];
    link.client.pipe(upstream);
    upstream.pipe(link.client);
    link.client.resume();
  }

  /** Nothing flows any more, and nobody is told. */
  private freeze(link: PeerLink): void {
    link.flowing = false;
    link.client.unpipe();
    link.client.pause();
    link.upstream?.unpipe();
    link.upstream?.pause();
  }

  private drop(link: PeerLink): void {
    if (!this.links.delete(link)) return;
    if (!link.client.destroyed) link.client.resetAndDestroy();
    if (link.upstream && !link.upstream.destroyed) link.upstream.resetAndDestroy();
  }
}

interface PeerLink {
  client: Socket;
  upstream: Socket | undefined;
  /** The calling member's id (hex); undefined when it did not say; null until its headers came. */
  from: string | undefined | null;
  flowing: boolean;
  head: Buffer[];
}

export class EtcdCluster {
  private readonly cut = new Set<number>();
  private readonly clients = new Map<number, Etcd3>();

  private constructor(readonly members: ClusterMember[]) {}

  static async start(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    const size = options.size ?? 3;
    const token = `cluster-${randomUUID()}`;
    const names = Array.from({ length: size }, (_, i) => `m${i}`);
    // A distinct loopback address per member (and per test process, to keep parallel runs apart).
    const base = 10 + (process.pid % 20) * 10 + Math.floor(Math.random() * 5);
    const hosts = names.map((_, i) => `127.0.${base % 250}.${10 + i}`);
    const peerPorts = await Promise.all(hosts.map((host) => freePort(host)));
    // The cluster object exists before the proxies, which ask it whether a link is cut.
    const members: ClusterMember[] = [];
    const cluster = new EtcdCluster(members);
    const proxies = await Promise.all(
      hosts.map((host, i) => PeerProxy.start(host, peerPorts[i]!, (from) => cluster.isBlocked(i, from))),
    );
    const initialCluster = names.map((name, i) => `${name}=${proxies[i]!.url}`).join(',');
    const etcds = await Promise.all(
      names.map((name, i) =>
        EmbeddedEtcd.start({
          name,
          host: hosts[i]!,
          peerPort: peerPorts[i]!,
          startTimeoutMs: 30_000,
          ...(options.log ? { log: (line: string) => options.log?.(`${name}: ${line}`) } : {}),
          extraArgs: [
            `--initial-advertise-peer-urls=${proxies[i]!.url}`,
            `--initial-cluster=${initialCluster}`,
            `--initial-cluster-token=${token}`,
            '--heartbeat-interval=100',
            '--election-timeout=1000',
            '--pre-vote=true',
            ...(options.extraArgs ?? []),
          ],
        }),
      ),
    );
    etcds.forEach((etcd, i) => {
      members.push({ index: i, name: names[i]!, host: hosts[i]!, etcd, proxy: proxies[i]!, id: '' });
    });
    for (const member of members) {
      const status = await cluster.client(member.index).maintenance.status();
      member.id = BigInt(status.header.member_id).toString(16);
    }
    return cluster;
  }

  /** Every member's client URL, for the bridge's `--etcd`. */
  get endpoints(): string[] {
    return this.members.map((m) => m.etcd.clientUrl);
  }

  /** A client of one member only (cached; closed by stop()). */
  client(index: number): Etcd3 {
    let client = this.clients.get(index);
    if (!client) {
      client = new Etcd3(testClientOptions(this.members[index]!.etcd.clientUrl));
      this.clients.set(index, client);
    }
    return client;
  }

  /** A client of every member, etcd3's pool choosing among them. */
  clusterClient(): Etcd3 {
    let client = this.clients.get(-1);
    if (!client) {
      client = new Etcd3(testClientOptions(this.endpoints[0]!, { hosts: this.endpoints }));
      this.clients.set(-1, client);
    }
    return client;
  }

  /** The index of the raft leader, as a reachable member not cut off sees it. */
  async leader(timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const member of this.members) {
        if (this.cut.has(member.index) || !member.etcd.isRunning) continue;
        try {
          const status = await this.client(member.index).maintenance.status();
          const id = BigInt(status.leader).toString(16);
          const leader = this.members.find((m) => m.id === id);
          if (leader && status.leader !== '0') return leader.index;
        } catch {
          // Down or busy: ask the next one.
        }
      }
      if (Date.now() > deadline) throw new Error(`no raft leader within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Drops every peer link of the member (clients still reach it). */
  cutOff(index: number): void {
    this.cut.add(index);
    for (const member of this.members) member.proxy.update();
  }

  heal(index: number): void {
    this.cut.delete(index);
    for (const member of this.members) member.proxy.update();
  }

  get cutMembers(): number[] {
    return [...this.cut];
  }

  async kill(index: number): Promise<void> {
    this.dropClient(index);
    await this.members[index]!.etcd.kill();
  }

  async restart(index: number): Promise<void> {
    this.dropClient(index);
    await this.members[index]!.etcd.restart();
  }

  /** `etcdctl move-leader` to `target` (default: the next member after the leader). Returns the new leader. */
  async moveLeader(target?: number): Promise<number> {
    const leader = await this.leader();
    const to = target ?? (leader + 1) % this.members.length;
    if (to === leader) return leader;
    await run(
      await findEtcdctl(),
      ['--endpoints', this.members[leader]!.etcd.clientUrl, 'move-leader', this.members[to]!.id],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 20_000 },
    );
    return to;
  }

  async stop(): Promise<void> {
    for (const index of [...this.clients.keys()]) this.dropClient(index);
    await Promise.all(
      this.members.map(async (member) => {
        await member.etcd.stop();
        await member.proxy.close();
      }),
    );
  }

  private dropClient(index: number): void {
    this.clients.get(index)?.close();
    this.clients.delete(index);
  }

  /** Whether a peer connection from `from` (hex id) to member `to` must not pass. */
  private isBlocked(to: number, from: string | undefined): boolean {
    if (this.cut.has(to)) return true;
    if (from === undefined) return false;
    const origin = this.members.find((m) => m.id === from);
    return origin !== undefined && this.cut.has(origin.index);
  }
}
