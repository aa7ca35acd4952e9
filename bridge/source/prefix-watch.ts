/**
 * One etcd watch on one prefix, resumed from the bridge's own revision after any break.
 *
 * etcd3's `Watcher` is not used on purpose: after a reconnect it moves its start revision to the
 * store's current revision + 1 before the replayed events arrive (a second break during catch-up
 * skips events), and it reports compaction only as a generic error. Here the raw gRPC watch stream
 * is opened by hand: every (re)connect starts at `nextRevision` — the revision after the last event
 * delivered — and a compacted start revision is reported as such, for the owner to resync.
 *
 * The watch asks etcd to fragment large responses: catching up on a backlog, etcd puts up to 1,000
 * revisions in one response, which for transactions of many puts is tens of MB, far over gRPC's
 * 4 MB receive limit (the stream then fails with RESOURCE_EXHAUSTED on every reconnect and the route
 * stalls for good). Fragments are cut at etcd's request size limit, anywhere, even inside one
 * revision, so the events of a fragment's last revision are held back until that revision is known
 * to be whole: the listener still gets each revision in one piece, and `nextRevision` never passes a
 * revision delivered only in part (a checkpoint or a resume from it would lose the rest).
 *
 * A member that is alive but no use must be left too. The stream asks for a leader (`hasleader`),
 * so a member cut off from its peers cancels it ("etcdserver: no leader"); a connection that went
 * silent (a blackhole) is found by asking etcd for a progress notification whenever the stream has
 * been quiet for a while: no answer in time counts as a break. After any break the watch reconnects
 * to the NEXT endpoint, not the same one.
 *
 * Every break is classified (failure/classify.ts) after etcd3 has typed it (`castGrpcError` for a
 * stream error, `castGrpcErrorMessage` for a cancel, whose reason etcd sends as text: etcd 3.4 says
 * "rpc error: code = PermissionDenied desc = etcdserver: permission denied" when the user may not
 * read the prefix). A break retrying can fix (unavailable, no leader, silence) is counted and
 * reconnected; a fatal one (permission denied, authentication failed) stops the watch for good and
 * is handed to `onFatal`: reconnecting with the same credentials would be refused forever. etcd
 * checks permission when a watch is created, not on a watch already open, so a revoked permission
 * shows at the next (re)connect. An expired auth token is not fatal: the next connect logs in again.
 */
import {
  castGrpcError,
  castGrpcErrorMessage,
  type Etcd3,
  EtcdInvalidAuthTokenError,
  type IWatchResponse,
} from 'etcd3';
import { closeStream, type StreamSource, streamsOf, type WatchStream } from '../etcd/endpoint-streams.js';
import { prefixRangeEnd } from '../etcd/ops.js';
import { BACKOFF, Backoff } from '../failure/backoff.js';
import { type Classification, classified, classify } from '../failure/classify.js';

export interface SourceEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value: Buffer | null;
  readonly revision: bigint;
}

export enum WatchState {
  Idle = 'idle',
  Connecting = 'connecting',
  Watching = 'watching',
  /** Broken; a reconnect from nextRevision is scheduled. */
  Backoff = 'backoff',
  /** Stopped by the owner (back-pressure, compaction, shutdown); `start` resumes. */
  Stopped = 'stopped',
  /** Stopped for good by a failure retrying cannot fix (see `onFatal`). */
  Failed = 'failed',
}

export interface PrefixWatchListener {
  onEvents(events: SourceEvent[]): void;
  /** The start revision was compacted away: the watch has stopped; the owner must resync. */
  onCompacted(compactRevision: bigint): void;
  /**
   * etcd's progress notification for this watch: every change under the prefix up to `revision`
   * has been delivered (none came since the last events), and the watch resumes after it.
   */
  onProgress?(revision: bigint): void;
  onStateChange?(state: WatchState, error?: unknown): void;
  /** A stream failure, classified (failure/classify.ts), before the reconnect it leads to. */
  onFailure?(classification: Classification): void;
  /** A stream failure retrying cannot fix (verdict `fatal`): the watch has stopped for good. */
  onFatal?(error: unknown): void;
}

export interface PrefixWatchTiming {
  /** How long the stream may be quiet before etcd is asked for a progress notification. */
  probeAfterMs: number;
  /** How long etcd has to answer it (with anything) before the stream counts as broken. */
  probeTimeoutMs: number;
  /** How long etcd has to confirm a watch request. */
  createdTimeoutMs: number;
}

const DEFAULT_TIMING: PrefixWatchTiming = {
  probeAfterMs: 3_000,
  probeTimeoutMs: 3_000,
  createdTimeoutMs: 5_000,
};

export class PrefixWatch {
  private stateValue = WatchState.Idle;
  /** The next revision to deliver: events below it were delivered already. */
  private next = 1n;
  /** Bumped on every (re)connect and stop: callbacks of an older stream are ignored. */
  private generation = 0;
  private stream: WatchStream | undefined;
  /** The bridge's one backoff (failure/backoff.ts): reset once a stream is confirmed. */
  private readonly backoff = new Backoff(BACKOFF.watch);
  private reconnectTimer: NodeJS.Timeout | undefined;
  private createdTimer: NodeJS.Timeout | undefined;
  private livenessTimer: NodeJS.Timeout | undefined;
  /** When the stream last said anything, and when a progress probe went out unanswered. */
  private lastHeardAt = 0;
  private probeSentAt: number | undefined;
  private readonly streams: StreamSource;
  private readonly timing: PrefixWatchTiming;
  /** The endpoint (index into the client's endpoints) the stream uses or will use next. */
  private endpointIndex: number;
  private readonly decoder = new TextDecoder();
  /** Events of the revision a fragment ended with, held back until the rest of it has come. */
  private heldBack: SourceEvent[] = [];
  /** The id etcd gave the watch on this stream (its `created` answer). */
  private watchId: string | undefined;
  reconnects = 0;

  constructor(
    source: Etcd3 | StreamSource,
    private readonly prefix: string,
    private readonly listener: PrefixWatchListener,
    timing: Partial<PrefixWatchTiming> = {},
  ) {
    this.streams = 'describe' in source ? source : streamsOf(source);
    this.timing = { ...DEFAULT_TIMING, ...timing };
    // Spread the bridges' streams over the members rather than all on the first.
    this.endpointIndex = Math.floor(Math.random() * this.streams.size);
  }

  /** The endpoint the watch uses (or will use on its next connect). */
  get endpoint(): string {
    return this.streams.describe(this.endpointIndex);
  }

  get state(): WatchState {
    return this.stateValue;
  }

  get nextRevision(): bigint {
    return this.next;
  }

  /** Watch every change with revision >= fromRevision. */
  start(fromRevision: bigint): void {
    this.stopStream();
    this.next = fromRevision;
    void this.connect();
  }

  /** Stop delivering; `start(nextRevision)` resumes exactly where it stopped. */
  stop(): void {
    this.stopStream();
    this.setState(WatchState.Stopped);
  }

  private stopStream(): void {
    this.generation++;
    clearTimeout(this.createdTimer);
    clearInterval(this.livenessTimer);
    this.livenessTimer = undefined;
    this.probeSentAt = undefined;
    // Not delivered, so `next` is still at their revision: a new stream sends them again, whole.
    this.heldBack = [];
    this.watchId = undefined;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const stream = this.stream;
    this.stream = undefined;
    if (stream) closeStream(stream);
  }

  private async connect(): Promise<void> {
    const generation = this.generation;
    this.setState(WatchState.Connecting);
    // A stream that never confirms the watch (etcd restarting, a half-open connection) must not
    // hold the route forever: without a `created` answer in time, it counts as broken. The clock
    // starts before the stream is opened: with auth, opening waits for a login, which a member cut
    // off from the bridge never answers (bounded only by etcd.callTimeoutMs).
    const { createdTimeoutMs } = this.timing;
    this.createdTimer = setTimeout(() => {
      if (generation === this.generation && this.stateValue !== WatchState.Watching) {
        this.broken(
          new Error(`no answer to the watch request within ${createdTimeoutMs} ms`),
          classified('etcd-unavailable'),
        );
      }
    }, createdTimeoutMs);
    let stream: WatchStream;
    try {
      stream = await this.streams.watch(this.endpointIndex);
    } catch (error) {
      // Opening needs a token first: a wrong password fails here (typed by etcd3's pool already).
      if (generation === this.generation) this.broken(castGrpcError(asError(error)));
      return;
    }
    if (generation !== this.generation) {
      closeStream(stream);
      return;
    }
    this.stream = stream;
    stream.on('data', (res) => {
      if (generation !== this.generation) return;
      this.lastHeardAt = Date.now();
      this.probeSentAt = undefined;
      this.onResponse(res);
    });
    stream.on('error', (error) => {
      // grpc-js gives a plain Error with the status code: etcd3 types it by message and code.
      if (generation === this.generation) this.broken(castGrpcError(error));
    });
    stream.on('end', () => {
      if (generation === this.generation)
        this.broken(new Error('watch stream ended'), classified('etcd-unavailable'));
    });
    stream.write({
      create_request: {
        key: Buffer.from(this.prefix, 'utf8'),
        range_end: prefixRangeEnd(this.prefix),
        start_revision: this.next.toString(),
        fragment: true,
        // etcd's periodic notification (--experimental-watch-progress-notify-interval, 10 min by
        // default) moves a quiet prefix's revision on with the store's, so a reconnect or restart
        // after a compaction does not find it compacted away (and resync) when nothing changed.
        progress_notify: true,
      },
    });
  }

  private onResponse(res: IWatchResponse): void {
    const compactRevision = BigInt(res.compact_revision || '0');
    if (compactRevision > 0n) {
      this.stopStream();
      this.setState(WatchState.Stopped);
      this.listener.onCompacted(compactRevision);
      return;
    }
    if (res.canceled) {
      // etcd3 maps the reason's text ("etcdserver: permission denied", ...) to its error class;
      // a reason it does not know (no leader, the member stopping) is etcd's state, not ours.
      const error = castGrpcErrorMessage(
        `watch on ${this.prefix} canceled by etcd: ${res.cancel_reason || 'no reason given'}`,
      );
      const classification = classify(error);
      this.broken(
        error,
        classification.reason === 'unknown' ? classified('etcd-unavailable') : classification,
      );
      return;
    }
    if (res.created) {
      this.watchId = res.watch_id;
      clearTimeout(this.createdTimer);
      this.backoff.reset();
      this.startLivenessCheck();
      this.setState(WatchState.Watching);
    }
    if (res.events.length === 0) {
      // Only the watch's own notification counts: etcd sends it only while the watcher is synced,
      // in order with its events. The answer to a progress request (the liveness probe, watch id
      // -1) is not ordered with the events in etcd 3.4 and may come before some it covers.
      if (!res.created && !res.fragment && res.watch_id === this.watchId && this.heldBack.length === 0) {
        const revision = BigInt(res.header?.revision ?? '0');
        if (revision >= this.next) {
          this.next = revision + 1n;
          this.listener.onProgress?.(revision);
        }
      }
      return;
    }
    const events: SourceEvent[] = this.heldBack;
    this.heldBack = [];
    for (const event of res.events) {
      const revision = BigInt(event.kv.mod_revision);
      // A resumed stream may repeat what an older one delivered: keep each revision once.
      if (revision < this.next) continue;
      events.push({
        type: event.type === 'Delete' ? 'delete' : 'put',
        key: this.decoder.decode(event.kv.key),
        value: event.type === 'Delete' ? null : Buffer.from(event.kv.value),
        revision,
      });
    }
    if (events.length === 0) return;
    const last = events[events.length - 1]!.revision;
    if (res.fragment) {
      // More of this response follows, and its last revision may go on there: hold that one back.
      let whole = events.length;
      while (whole > 0 && events[whole - 1]!.revision === last) whole--;
      this.heldBack = events.slice(whole);
      events.length = whole;
      this.next = last;
    } else {
      // The last (or only) part of a response ends with a whole revision.
      this.next = last + 1n;
    }
    if (events.length > 0) this.listener.onEvents(events);
  }

  /**
   * A quiet stream is asked for a progress notification (etcd answers one with an empty response,
   * also on an idle watch); a stream that stays silent after that is taken for dead.
   */
  private startLivenessCheck(): void {
    const generation = this.generation;
    const { probeAfterMs, probeTimeoutMs } = this.timing;
    this.lastHeardAt = Date.now();
    clearInterval(this.livenessTimer);
    this.livenessTimer = setInterval(
      () => {
        if (generation !== this.generation || this.stream === undefined) return;
        const now = Date.now();
        if (this.probeSentAt !== undefined) {
          if (now - this.probeSentAt >= probeTimeoutMs)
            this.broken(
              new Error(`no answer to a progress request within ${probeTimeoutMs} ms`),
              classified('etcd-unavailable'),
            );
          return;
        }
        if (now - this.lastHeardAt >= probeAfterMs) {
          this.probeSentAt = now;
          this.stream.write({ progress_request: {} });
        }
      },
      Math.max(10, Math.min(probeAfterMs, probeTimeoutMs) / 3),
    );
    this.livenessTimer.unref();
  }

  private broken(cause: unknown, classification: Classification = classify(cause)): void {
    const failed = this.streams.describe(this.endpointIndex);
    const index = this.endpointIndex;
    this.stopStream();
    this.listener.onFailure?.(classification);
    if (classification.verdict === 'fatal') {
      // Same credentials, same answer: stop rather than reconnect forever. The error goes to
      // onFatal only (a state change with an error reads as "resuming" to the owner).
      this.setState(WatchState.Failed);
      this.listener.onFatal?.(cause);
      return;
    }
    // A token etcd no longer knows (expired, the user's password changed): log in again next time.
    if (cause instanceof EtcdInvalidAuthTokenError) this.streams.invalidateAuth?.(index);
    this.reconnects++;
    const error =
      this.streams.size > 1
        ? new Error(`${failed}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
        : cause;
    // The member may be the trouble (no leader, gone, silent): go on with the next one.
    this.endpointIndex = this.streams.next(this.endpointIndex);
    this.setState(WatchState.Backoff, error);
    const generation = this.generation;
    const delay = this.backoff.next();
    this.reconnectTimer = setTimeout(() => {
      if (generation === this.generation) void this.connect();
    }, delay);
  }

  private setState(state: WatchState, error?: unknown): void {
    if (this.stateValue === state && error === undefined) return;
    this.stateValue = state;
    this.listener.onStateChange?.(state, error);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
