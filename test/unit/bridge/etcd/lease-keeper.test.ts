/**
 * LeaseKeeper against scripted keep-alive streams: a member that stops answering is left for the
 * next one within the answer deadline, a stream error moves too, TTL 0 ends the lease, and nothing
 * acknowledged for the presumed-lost time ends it too.
 */
import { EventEmitter } from 'node:events';
import type { ILeaseKeepAliveRequest } from 'etcd3';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeepAliveStream, StreamSource, WatchStream } from '../../../../bridge/etcd/endpoint-streams.js';
import { LeaseKeeper } from '../../../../bridge/etcd/lease-keeper.js';

class FakeStream extends EventEmitter {
  readonly writes: ILeaseKeepAliveRequest[] = [];
  /** When false, keep-alives go unanswered (a follower cut off from its leader). */
  answering = true;
  ttl = '5';

  constructor(readonly endpoint: number) {
    super();
  }

  write(request: ILeaseKeepAliveRequest): boolean {
    this.writes.push(request);
    if (this.answering)
      setImmediate(() => this.emit('data', { header: {}, ID: String(request.ID), TTL: this.ttl }));
    return true;
  }

  end(): void {}
  cancel(): void {}
}

class FakeSource implements StreamSource {
  readonly streams: FakeStream[] = [];
  /** Endpoints whose streams do not answer. */
  readonly silent = new Set<number>();
  /** Endpoints whose login was dropped (`invalidateAuth`). */
  readonly loggedOut: number[] = [];
  /** Endpoints whose streams never open (a login through a member that is cut off). */
  readonly unopenable = new Set<number>();

  invalidateAuth(index: number): void {
    this.loggedOut.push(index);
  }

  constructor(readonly size: number) {}

  describe(index: number): string {
    return `http://m${index}`;
  }

  next(index: number): number {
    return (index + 1) % this.size;
  }

  watch(): Promise<WatchStream> {
    return Promise.reject(new Error('not used'));
  }

  leaseKeepAlive(index: number): Promise<KeepAliveStream> {
    if (this.unopenable.has(index)) return new Promise(() => {});
    const stream = new FakeStream(index);
    stream.answering = !this.silent.has(index);
    this.streams.push(stream);
    return Promise.resolve(stream as unknown as KeepAliveStream);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const keepers: LeaseKeeper[] = [];
afterEach(() => {
  for (const keeper of keepers.splice(0)) keeper.stop();
});

function keeper(
  source: FakeSource,
  timing = { intervalMs: 20, answerWithinMs: 40, presumeLostAfterMs: 400 },
) {
  const lost: string[] = [];
  const failovers: Array<{ from: string; to: string; reason: string }> = [];
  const k = new LeaseKeeper(
    source,
    '42',
    5,
    {
      onLost: (reason) => lost.push(reason),
      onFailover: (from, to, reason) => failovers.push({ from, to, reason }),
    },
    timing,
  );
  keepers.push(k);
  return { k, lost, failovers };
}

describe('LeaseKeeper', () => {
  it('keeps renewing on a member that answers, without moving', async () => {
    const source = new FakeSource(3);
    const { k, lost, failovers } = keeper(source);
    k.start();
    await sleep(200);
    expect(lost).toEqual([]);
    expect(failovers).toEqual([]);
    expect(source.streams).toHaveLength(1);
    expect(source.streams[0]!.writes.length).toBeGreaterThan(3);
    expect(Date.now() - k.lastRenewedAt).toBeLessThan(100);
  });

  it('moves to the next member when its member stops answering, and renews there', async () => {
    // Prepare: every member answers but the one the keeper starts on.
    const source = new FakeSource(3);
    const { k, lost, failovers } = keeper(source);
    for (let i = 0; i < 3; i++) source.silent.add(i);
    k.start();
    await sleep(5);
    const first = source.streams[0]!.endpoint;
    source.silent.clear();
    source.silent.add(first);

    // Act
    await sleep(250);

    // Assess
    expect(lost).toEqual([]);
    expect(failovers[0]).toMatchObject({ from: `http://m${first}`, to: `http://m${(first + 1) % 3}` });
    expect(failovers[0]?.reason).toContain('no answer to a keep-alive');
    expect(source.streams.at(-1)!.endpoint).toBe((first + 1) % 3);
    expect(Date.now() - k.lastRenewedAt).toBeLessThan(100);
  });

  it('a stream error (a member without a leader cancelling it) moves at once', async () => {
    const source = new FakeSource(2);
    const { k, failovers } = keeper(source);
    k.start();
    await sleep(30);
    source.streams[0]!.emit('error', new Error('14 UNAVAILABLE: etcdserver: no leader'));
    await sleep(30);
    expect(failovers).toHaveLength(1);
    expect(failovers[0]?.reason).toContain('no leader');
    expect(source.streams[1]!.endpoint).toBe(source.next(source.streams[0]!.endpoint));
  });

  it("a token etcd no longer knows drops that endpoint's login before moving on; other errors do not", async () => {
    const source = new FakeSource(2);
    const { k, failovers } = keeper(source);
    k.start();
    await sleep(30);
    const first = source.streams[0]!.endpoint;
    source.streams[0]!.emit(
      'error',
      Object.assign(new Error('16 UNAUTHENTICATED: etcdserver: invalid auth token'), { code: 16 }),
    );
    await sleep(30);
    source.streams[1]!.emit('error', new Error('14 UNAVAILABLE: etcdserver: no leader'));
    await sleep(30);
    expect(failovers).toHaveLength(2);
    expect(k.failovers).toBe(2);
    expect(source.loggedOut).toEqual([first]);
  });

  it('a stream that does not open (a login through a cut-off member) is left within the answer deadline', async () => {
    const source = new FakeSource(3);
    const { k, lost, failovers } = keeper(source);
    k.start();
    await sleep(30);
    const first = source.streams[0]!.endpoint;
    source.unopenable.add((first + 1) % 3);
    source.streams[0]!.emit('error', new Error('14 UNAVAILABLE: read ECONNRESET'));
    await sleep(150);
    expect(lost).toEqual([]);
    expect(failovers.map((f) => f.reason)).toEqual([
      '14 UNAVAILABLE: read ECONNRESET',
      'no keep-alive stream opened within 40 ms',
    ]);
    expect(source.streams.at(-1)!.endpoint).toBe((first + 2) % 3);
    expect(Date.now() - k.lastRenewedAt).toBeLessThan(100);
  });

  it('TTL 0 ends the lease, saying so', async () => {
    const source = new FakeSource(1);
    const { k, lost } = keeper(source);
    k.start();
    await sleep(30);
    source.streams[0]!.ttl = '0';
    await sleep(60);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toContain('lease 42 expired');
  });

  it('nothing acknowledged through any member for the presumed-lost time ends the lease', async () => {
    const source = new FakeSource(3);
    for (let i = 0; i < 3; i++) source.silent.add(i);
    const { k, lost, failovers } = keeper(source);
    k.start();
    await sleep(600);
    expect(failovers.length).toBeGreaterThanOrEqual(3);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toContain('presumed expired');
  });
});
