/**
 * PrefixWatch against scripted streams: the fragment hold-back (a revision split over fragments
 * reaches the listener whole, and the resume revision never passes a revision delivered in part),
 * reconnecting to the next endpoint after a break or a "no leader" cancel, and the progress probe
 * that finds a silent stream.
 */
import { EventEmitter } from 'node:events';
import { EtcdPermissionDeniedError, type IWatchRequest, type IWatchResponse } from 'etcd3';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeepAliveStream, StreamSource, WatchStream } from '../../../../bridge/etcd/endpoint-streams.js';
import type { Classification } from '../../../../bridge/failure/classify.js';
import { PrefixWatch, type SourceEvent, WatchState } from '../../../../bridge/source/prefix-watch.js';

class FakeStream extends EventEmitter {
  readonly writes: IWatchRequest[] = [];
  ended = false;
  cancelled = false;

  constructor(readonly endpoint: number) {
    super();
  }

  write(request: IWatchRequest): boolean {
    this.writes.push(request);
    return true;
  }

  end(): void {
    this.ended = true;
  }

  cancel(): void {
    this.cancelled = true;
  }

  respond(response: Partial<IWatchResponse>): void {
    this.emit('data', {
      header: { revision: '0' },
      watch_id: '0',
      created: false,
      canceled: false,
      compact_revision: '0',
      cancel_reason: '',
      fragment: false,
      events: [],
      ...response,
    });
  }
}

class FakeSource implements StreamSource {
  readonly streams: FakeStream[] = [];
  /** Endpoints whose login was dropped (`invalidateAuth`). */
  readonly loggedOut: number[] = [];
  /** Endpoints asked for a stream that never opened. */
  readonly opening: number[] = [];

  constructor(readonly size: number) {}

  describe(index: number): string {
    return `http://m${index}`;
  }

  next(index: number): number {
    return (index + 1) % this.size;
  }

  /** Endpoints whose streams never open (a login through a member that is cut off). */
  readonly unopenable = new Set<number>();

  watch(index: number): Promise<WatchStream> {
    if (this.unopenable.has(index)) {
      this.opening.push(index);
      return new Promise(() => {});
    }
    const stream = new FakeStream(index);
    this.streams.push(stream);
    return Promise.resolve(stream as unknown as WatchStream);
  }

  leaseKeepAlive(): Promise<KeepAliveStream> {
    return Promise.reject(new Error('not used'));
  }

  invalidateAuth(index: number): void {
    this.loggedOut.push(index);
  }

  get last(): FakeStream {
    return this.streams.at(-1)!;
  }
}

function put(key: string, revision: number): IWatchResponse['events'][number] {
  return {
    type: 'Put',
    kv: {
      key: Buffer.from(key),
      value: Buffer.from(`v${revision}`),
      mod_revision: String(revision),
      create_revision: String(revision),
      version: '1',
      lease: '0',
    },
    prev_kv: undefined,
  } as unknown as IWatchResponse['events'][number];
}

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const watches: PrefixWatch[] = [];
afterEach(() => {
  for (const watch of watches.splice(0)) watch.stop();
});

function watching(source: FakeSource, timing = {}) {
  const delivered: SourceEvent[][] = [];
  const errors: unknown[] = [];
  const failures: Classification[] = [];
  const fatal: unknown[] = [];
  const watch = new PrefixWatch(
    source,
    '/p/',
    {
      onEvents: (events) => delivered.push(events),
      onCompacted: () => {},
      onStateChange: (_, error) => {
        if (error !== undefined) errors.push(error);
      },
      onFailure: (classification) => failures.push(classification),
      onFatal: (error) => fatal.push(error),
    },
    timing,
  );
  watches.push(watch);
  return { watch, delivered, errors, failures, fatal };
}

describe('PrefixWatch: fragments', () => {
  it('holds back the last revision of a fragment until the rest of it has come', async () => {
    // Prepare
    const source = new FakeSource(1);
    const { watch, delivered } = watching(source);
    watch.start(10n);
    await until(() => source.streams.length === 1);
    const stream = source.last;
    stream.respond({ created: true });

    // Act: revision 11 is split over two fragments.
    stream.respond({ fragment: true, events: [put('/p/a', 10), put('/p/b', 11), put('/p/c', 11)] });
    const afterFirst = { delivered: delivered.flat().map((e) => e.revision), next: watch.nextRevision };
    stream.respond({ fragment: false, events: [put('/p/d', 11), put('/p/e', 12)] });

    // Assess
    expect(afterFirst).toEqual({ delivered: [10n], next: 11n });
    expect(delivered.map((batch) => batch.map((e) => `${e.key}@${e.revision}`))).toEqual([
      ['/p/a@10'],
      ['/p/b@11', '/p/c@11', '/p/d@11', '/p/e@12'],
    ]);
    expect(watch.nextRevision).toBe(13n);
  });

  it('a break between fragments drops the partial revision and resumes from it, whole', async () => {
    // Prepare
    const source = new FakeSource(1);
    const { watch, delivered } = watching(source);
    watch.start(10n);
    await until(() => source.streams.length === 1);
    source.last.respond({ created: true });
    source.last.respond({ fragment: true, events: [put('/p/a', 10), put('/p/b', 11)] });

    // Act
    source.last.emit('error', new Error('14 UNAVAILABLE: Connection dropped'));
    await until(() => source.streams.length === 2);

    // Assess: the new stream starts at revision 11, which was never delivered in part.
    expect(delivered.flat().map((e) => e.revision)).toEqual([10n]);
    expect(source.last.writes[0]?.create_request?.start_revision).toBe('11');
    source.last.respond({ created: true });
    source.last.respond({ events: [put('/p/a', 10), put('/p/b', 11), put('/p/c', 11)] });
    expect(delivered.flat().map((e) => `${e.key}@${e.revision}`)).toEqual(['/p/a@10', '/p/b@11', '/p/c@11']);
  });

  it('asks etcd to fragment', async () => {
    const source = new FakeSource(1);
    const { watch } = watching(source);
    watch.start(5n);
    await until(() => source.streams.length === 1);
    expect(source.last.writes[0]?.create_request).toMatchObject({ start_revision: '5', fragment: true });
  });
});

describe('PrefixWatch: progress notifications', () => {
  it("etcd's notification for the watch moves a quiet prefix's revision on; a probe's answer does not", async () => {
    const source = new FakeSource(1);
    const progress: bigint[] = [];
    const watch = new PrefixWatch(source, '/p/', {
      onEvents: () => {},
      onCompacted: () => {},
      onProgress: (revision) => progress.push(revision),
    });
    watches.push(watch);
    watch.start(10n);
    await until(() => source.streams.length === 1);
    expect(source.last.writes[0]?.create_request).toMatchObject({ progress_notify: true });
    source.last.respond({ created: true, watch_id: '0', header: { revision: '40' } as never });
    expect(watch.nextRevision).toBe(10n); // created: catching up from 10, nothing known yet

    // The answer to a progress request (watch id -1): not ordered with the events in etcd 3.4.
    source.last.respond({ watch_id: '-1', header: { revision: '50' } as never });
    expect(watch.nextRevision).toBe(10n);

    // The watch's own notification (sent only once it is synced, in order with its events).
    source.last.respond({ watch_id: '0', header: { revision: '60' } as never });
    expect(watch.nextRevision).toBe(61n);
    expect(progress).toEqual([60n]);

    // A reconnect resumes after it.
    source.last.emit('error', new Error('14 UNAVAILABLE: Connection dropped'));
    await until(() => source.streams.length === 2);
    expect(source.last.writes[0]?.create_request?.start_revision).toBe('61');
  });
});

describe('PrefixWatch: a member that is no use is left', () => {
  it('reconnects to the next endpoint, not the same one, after a break or a "no leader" cancel', async () => {
    // Prepare
    const source = new FakeSource(3);
    const { watch, errors } = watching(source);
    watch.start(1n);
    await until(() => source.streams.length === 1);
    const first = source.last.endpoint;

    // Act
    source.last.respond({ created: true });
    source.last.respond({ canceled: true, cancel_reason: 'etcdserver: no leader' });
    await until(() => source.streams.length === 2);
    source.last.emit('error', new Error('14 UNAVAILABLE: etcdserver: no leader'));
    await until(() => source.streams.length === 3);

    // Assess
    expect(source.streams.map((s) => s.endpoint)).toEqual([first, (first + 1) % 3, (first + 2) % 3]);
    expect(String(errors[0])).toContain('no leader');
    expect(String(errors[0])).toContain(`http://m${first}`);
    // The old streams were ended and cancelled (never left open).
    expect(source.streams.slice(0, 2).every((s) => s.ended && s.cancelled)).toBe(true);
  });

  it('probes a quiet stream with a progress request and takes silence for a break', async () => {
    // Prepare
    const source = new FakeSource(2);
    const { watch, errors } = watching(source, { probeAfterMs: 60, probeTimeoutMs: 60 });
    watch.start(1n);
    await until(() => source.streams.length === 1);
    const stream = source.last;
    stream.respond({ created: true });

    // Act: the first probe is answered (an empty progress response), the second is not.
    await until(() => stream.writes.some((w) => w.progress_request !== undefined));
    stream.respond({});
    const probes = () => stream.writes.filter((w) => w.progress_request !== undefined).length;
    await until(() => probes() === 2);
    await until(() => source.streams.length === 2);

    // Assess
    expect(String(errors[0])).toContain('no answer to a progress request');
    expect(source.last.endpoint).toBe(source.next(stream.endpoint));
    expect(watch.reconnects).toBe(1);
  });

  it('an answered probe is no break', async () => {
    const source = new FakeSource(2);
    const { watch } = watching(source, { probeAfterMs: 30, probeTimeoutMs: 60 });
    watch.start(1n);
    await until(() => source.streams.length === 1);
    const stream = source.last;
    stream.respond({ created: true });
    const answer = setInterval(() => stream.respond({}), 10);
    await new Promise((resolve) => setTimeout(resolve, 300));
    clearInterval(answer);
    expect(watch.reconnects).toBe(0);
    expect(source.streams).toHaveLength(1);
  });
});

/** A gRPC status error as grpc-js emits it: a plain Error with the code on it. */
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details });
}

describe('PrefixWatch: failures are classified', () => {
  it('a cancel for permission (the text etcd 3.4 sends) stops the watch for good and calls onFatal', async () => {
    // Prepare
    const source = new FakeSource(2);
    const { watch, failures, fatal } = watching(source);
    watch.start(1n);
    await until(() => source.streams.length === 1);

    // Act
    source.last.respond({
      created: true,
      canceled: true,
      cancel_reason: 'rpc error: code = PermissionDenied desc = etcdserver: permission denied',
    });
    await until(() => fatal.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 200));

    // Assess: no reconnect, the error typed by etcd3, the prefix named.
    expect(source.streams).toHaveLength(1);
    expect(watch.state).toBe(WatchState.Failed);
    expect(watch.reconnects).toBe(0);
    expect(failures).toEqual([{ verdict: 'fatal', reason: 'etcd-auth' }]);
    expect(fatal[0]).toBeInstanceOf(EtcdPermissionDeniedError);
    expect(String(fatal[0])).toContain('watch on /p/ canceled by etcd');
    expect(String(fatal[0])).toContain('permission denied');
  });

  it('a stream error with gRPC code PERMISSION_DENIED or a refused password is fatal too', async () => {
    for (const error of [
      grpcError(7, 'PERMISSION_DENIED: etcdserver: permission denied'),
      grpcError(3, 'INVALID_ARGUMENT: etcdserver: authentication failed, invalid user ID or password'),
    ]) {
      const source = new FakeSource(1);
      const { watch, fatal, failures } = watching(source);
      watch.start(1n);
      await until(() => source.streams.length === 1);
      source.last.emit('error', error);
      await until(() => fatal.length === 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(source.streams).toHaveLength(1);
      expect(failures).toEqual([{ verdict: 'fatal', reason: 'etcd-auth' }]);
    }
  });

  it('"no leader", unavailable and silence are counted and reconnected, never fatal', async () => {
    // Prepare
    const source = new FakeSource(2);
    const { watch, failures, fatal } = watching(source, { createdTimeoutMs: 50 });
    watch.start(1n);
    await until(() => source.streams.length === 1);

    // Act
    source.last.respond({ created: true });
    source.last.respond({ canceled: true, cancel_reason: 'etcdserver: no leader' });
    await until(() => source.streams.length === 2);
    source.last.emit('error', grpcError(14, 'UNAVAILABLE: etcdserver: no leader'));
    await until(() => source.streams.length === 3);
    // The third stream never confirms its watch.
    await until(() => source.streams.length === 4);

    // Assess
    expect(fatal).toEqual([]);
    expect(failures.slice(0, 3)).toEqual([
      { verdict: 'retry', reason: 'etcd-unavailable' },
      { verdict: 'retry', reason: 'etcd-unavailable' },
      { verdict: 'retry', reason: 'etcd-unavailable' },
    ]);
    expect(watch.reconnects).toBeGreaterThanOrEqual(3);
  });

  it('a stream that does not open (a login through a cut-off member) is left within the created deadline', async () => {
    const source = new FakeSource(3);
    const { watch, failures } = watching(source, { createdTimeoutMs: 50 });
    watch.start(1n);
    await until(() => source.streams.length === 1);
    source.unopenable.add(source.next(source.last.endpoint));
    source.last.emit('error', grpcError(14, 'UNAVAILABLE: read ECONNRESET'));
    await until(() => source.opening.length === 1);
    // The next endpoint never opens: the watch moves on to the one after it.
    await until(() => source.streams.length === 2, 1_000);
    expect(source.last.endpoint).toBe(source.next(source.opening[0]!));
    expect(failures).toEqual([
      { verdict: 'retry', reason: 'etcd-unavailable' },
      { verdict: 'retry', reason: 'etcd-unavailable' },
    ]);
  });

  it('an expired token is retried, and the endpoint logs in again before the next stream', async () => {
    const source = new FakeSource(2);
    const { watch, failures, fatal } = watching(source);
    watch.start(1n);
    await until(() => source.streams.length === 1);
    const first = source.last.endpoint;
    source.last.respond({
      created: true,
      canceled: true,
      cancel_reason: 'rpc error: code = Unauthenticated desc = etcdserver: invalid auth token',
    });
    await until(() => source.streams.length === 2);
    expect(fatal).toEqual([]);
    expect(failures).toEqual([{ verdict: 'retry', reason: 'etcd-auth-token-expired' }]);
    expect(source.loggedOut).toEqual([first]);
  });
});
