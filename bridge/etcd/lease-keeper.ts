/**
 * Keeps one etcd lease alive through whichever member can still renew it.
 *
 * Why not etcd3's `Lease`: it opens its keep-alive stream through the pool's random host choice,
 * without `hasleader`, sends a keep-alive every TTL/3 and only notices a stream that stopped
 * answering after a whole TTL, by which time etcd may have expired the lease. A follower cut off
 * from its peers accepts keep-alives and never answers them (it cannot reach the raft leader, which
 * alone renews leases), so that was how a leader lost its lease while the cluster was healthy.
 *
 * Here a keep-alive goes out every `intervalMs` on a stream that asks for a leader; an answer must
 * come within `answerWithinMs`, or the stream counts as failed (as does a stream error, such as a
 * member without a leader cancelling it) and the keeper moves to the NEXT endpoint at once. With the
 * default timing (each a fifth of the TTL) the last renewal is at most ~2/5 TTL old when a failover
 * starts, which leaves more than half the TTL for it.
 *
 * The lease is given up only on evidence: etcd answers with TTL 0 (expired or revoked), or no
 * keep-alive has been acknowledged for `presumeLostAfterMs` (default 2 × TTL) through any endpoint.
 */
import { castGrpcError, EtcdInvalidAuthTokenError } from 'etcd3';
import { BACKOFF, Backoff } from '../failure/backoff.js';
import { closeStream, type KeepAliveStream, type StreamSource } from './endpoint-streams.js';

export interface LeaseKeeperTiming {
  intervalMs: number;
  answerWithinMs: number;
  presumeLostAfterMs: number;
}

export interface LeaseKeeperEvents {
  /** The lease is gone (or must be taken as gone); the keeper has stopped. */
  onLost(reason: string): void;
  /** The keep-alive stream failed on one endpoint and moves to another. */
  onFailover?(from: string, to: string, reason: string): void;
}

export function defaultKeeperTiming(ttlSeconds: number): LeaseKeeperTiming {
  const fifth = (ttlSeconds * 1000) / 5;
  return {
    intervalMs: Math.max(100, fifth),
    answerWithinMs: Math.max(300, fifth),
    presumeLostAfterMs: 2 * ttlSeconds * 1000,
  };
}

export class LeaseKeeper {
  private stream: KeepAliveStream | undefined;
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Oldest keep-alive sent and not yet answered. */
  private unansweredSince: number | undefined;
  private lastAnswerAt = Date.now();
  private consecutiveFailures = 0;
  /** The bridge's one backoff, for the pause after every endpoint has failed in a row. */
  private readonly backoff = new Backoff(BACKOFF.leaseFailover);
  private endpointIndex: number;
  /** Keep-alive stream failures (error, end, no answer in time), each followed by a move to the next endpoint. */
  failovers = 0;

  constructor(
    private readonly streams: StreamSource,
    readonly leaseId: string,
    private readonly ttlSeconds: number,
    private readonly events: LeaseKeeperEvents,
    private readonly timing: LeaseKeeperTiming = defaultKeeperTiming(ttlSeconds),
  ) {
    this.endpointIndex = Math.floor(Math.random() * streams.size);
  }

  /** When etcd last confirmed the lease. */
  get lastRenewedAt(): number {
    return this.lastAnswerAt;
  }

  get endpoint(): string {
    return this.streams.describe(this.endpointIndex);
  }

  start(): void {
    this.lastAnswerAt = Date.now();
    void this.connect();
    this.timer = setInterval(() => this.tick(), this.timing.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    clearInterval(this.timer);
    if (this.stream) closeStream(this.stream);
    this.stream = undefined;
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    // Opening counts against the answer deadline: with auth, a pool's first stream waits for a
    // login (bounded only by etcd.callTimeoutMs), which a cut-off member never answers.
    this.unansweredSince = Date.now();
    let stream: KeepAliveStream;
    try {
      stream = await this.streams.leaseKeepAlive(this.endpointIndex);
    } catch (error) {
      if (generation === this.generation) this.failed(`cannot open a keep-alive stream: ${message(error)}`);
      return;
    }
    if (generation !== this.generation || this.stopped) {
      closeStream(stream);
      return;
    }
    this.stream = stream;
    stream.on('data', (res) => {
      if (generation !== this.generation) return;
      if (res.TTL === '0' || Number(res.TTL) <= 0) {
        this.lose(
          `lease ${this.leaseId} expired: etcd answered a keep-alive with TTL 0 (expired or revoked)`,
        );
        return;
      }
      this.lastAnswerAt = Date.now();
      this.unansweredSince = undefined;
      this.consecutiveFailures = 0;
      this.backoff.reset();
    });
    stream.on('error', (error) => {
      if (generation !== this.generation) return;
      // A token etcd no longer knows: the next stream on this endpoint logs in again.
      if (castGrpcError(error) instanceof EtcdInvalidAuthTokenError)
        this.streams.invalidateAuth?.(this.endpointIndex);
      this.failed(message(error));
    });
    stream.on('end', () => {
      if (generation === this.generation) this.failed('keep-alive stream ended');
    });
    this.send();
  }

  private tick(): void {
    if (this.stopped) return;
    const now = Date.now();
    if (now - this.lastAnswerAt > this.timing.presumeLostAfterMs) {
      this.lose(
        `lease ${this.leaseId} presumed expired: no keep-alive acknowledged for ${((now - this.lastAnswerAt) / 1000).toFixed(1)} s through any endpoint (TTL ${this.ttlSeconds} s)`,
      );
      return;
    }
    if (this.unansweredSince !== undefined && now - this.unansweredSince > this.timing.answerWithinMs) {
      this.failed(
        this.stream
          ? `no answer to a keep-alive within ${this.timing.answerWithinMs} ms`
          : `no keep-alive stream opened within ${this.timing.answerWithinMs} ms`,
      );
      return;
    }
    this.send();
  }

  private send(): void {
    if (!this.stream) return;
    this.unansweredSince ??= Date.now();
    try {
      this.stream.write({ ID: this.leaseId });
    } catch (error) {
      this.failed(message(error));
    }
  }

  /** This endpoint did not do: the next one, at once (after a full round of failures, a short pause). */
  private failed(reason: string): void {
    if (this.stopped) return;
    this.generation++;
    if (this.stream) closeStream(this.stream);
    this.stream = undefined;
    this.unansweredSince = undefined;
    this.failovers++;
    this.consecutiveFailures++;
    const from = this.streams.describe(this.endpointIndex);
    this.endpointIndex = this.streams.next(this.endpointIndex);
    this.events.onFailover?.(from, this.streams.describe(this.endpointIndex), reason);
    const pause = this.consecutiveFailures < this.streams.size ? 0 : this.backoff.next();
    const generation = this.generation;
    setTimeout(() => {
      if (generation === this.generation && !this.stopped) void this.connect();
    }, pause).unref();
  }

  private lose(reason: string): void {
    if (this.stopped) return;
    this.stop();
    this.events.onLost(reason);
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
