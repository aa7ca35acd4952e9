/**
 * Leadership of a bridge group: etcd's election recipe (the one etcd3's `Election` and Go's
 * `concurrency.Election` implement), done here so that its streams are the bridge's own.
 *
 * A candidate puts `<root>election/leader/<lease id>` (value: its bridge id) on a lease; the key with
 * the lowest create revision leads. While our key exists with the create revision we were elected
 * with, no other bridge can lead, so every commit compares exactly that — a fence that makes a
 * deposed bridge (paused past its lease, partitioned) commit nothing.
 *
 * What differs from etcd3's Election, and why:
 * - the lease is kept alive by `LeaseKeeper`: a keep-alive stream that asks for a leader and moves
 *   to another member within a fraction of the TTL when its member stops answering, so leadership
 *   survives a dead or cut-off member while a majority is reachable through some endpoint;
 * - the election prefix is watched with the bridge's `PrefixWatch` (hasleader, endpoint failover,
 *   resumed from its own revision), for the keys ahead of ours while campaigning and for our own key
 *   while leading;
 * - losing leadership says what happened: our lease expired (etcd answered TTL 0, or nothing was
 *   acknowledged for 2 × TTL), or our key was deleted while the lease lived, and who leads now.
 */
import type { Etcd3, ICompare, IRangeResponse } from 'etcd3';
import { LeadershipLostError } from './errors.js';
import { streamsOf } from './etcd/endpoint-streams.js';
import { LeaseKeeper } from './etcd/lease-keeper.js';
import { compare, prefixRangeEnd } from './etcd/ops.js';
import { BACKOFF, Backoff, sleep } from './failure/backoff.js';
import { classify } from './failure/classify.js';
import { PrefixWatch, type SourceEvent } from './source/prefix-watch.js';

export type LeaderLog = (
  level: 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
) => void;

export interface AcquireOptions {
  log?: LeaderLog;
}

/** A campaign that ended before we were elected, for a reason that may pass (the caller retries). */
export class CampaignInterruptedError extends Error {
  override readonly name = 'CampaignInterruptedError';
}

const buf = (text: string) => Buffer.from(text, 'utf8');

export class Leadership {
  private lostError: LeadershipLostError | undefined;
  /** Set at once when a fence failed, while the explanation is read (`lost` is true from then on). */
  private fenceFailure: LeadershipLostError | undefined;
  private readonly lostListeners: Array<(error: LeadershipLostError) => void> = [];
  private resigned = false;

  private constructor(
    private readonly client: Etcd3,
    private readonly keeper: LeaseKeeper,
    private readonly watch: PrefixWatch,
    private readonly electionPrefix: string,
    readonly campaignKey: string,
    readonly createRevision: string,
  ) {}

  /** Campaign until elected. Resolves as leader; rejects if the campaign fails first. */
  static async acquire(
    client: Etcd3,
    root: string,
    bridgeId: string,
    ttlSeconds: number,
    options: AcquireOptions = {},
  ): Promise<Leadership> {
    const log: LeaderLog = options.log ?? (() => {});
    const electionPrefix = `${root}election/leader/`;
    const grant = await client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 });
    const leaseId = grant.ID;
    const campaignKey = `${electionPrefix}${leaseId}`;

    // Everything below reports to `interrupt`, which ends the campaign (or, once elected, the leadership).
    let interrupt: (reason: string) => void = () => {};
    let leadership: Leadership | undefined;
    const keeper = new LeaseKeeper(streamsOf(client), leaseId, ttlSeconds, {
      onLost: (reason) => interrupt(reason),
      onFailover: (from, to, reason) =>
        log('warn', 'lease keep-alive moved to another endpoint', { from, to, reason }),
    });
    keeper.start();
    let watch: PrefixWatch | undefined;
    try {
      const put = await client.kv.txn({
        compare: [compare.createRevision(campaignKey, '0')],
        success: [{ request_put: { key: buf(campaignKey), value: buf(bridgeId), lease: leaseId } }],
        failure: [{ request_range: { key: buf(campaignKey) } }],
      });
      const createRevision = put.succeeded
        ? put.header.revision
        : put.responses[0]?.response_range.kvs[0]?.create_revision;
      if (!createRevision) throw new CampaignInterruptedError(`campaign key ${campaignKey} vanished`);

      // Wakes the campaign loop below on every change of the election prefix.
      let changed: () => void = () => {};
      const electionEvents: SourceEvent[] = [];
      let refuse: (error: unknown) => void = () => {};
      const campaign = new Promise<never>((_, reject) => {
        interrupt = (reason) => reject(new CampaignInterruptedError(`campaign ended: ${reason}`));
        // An error retrying cannot fix ends the campaign as itself (acquireLeadership stops on it).
        refuse = reject;
      });
      campaign.catch(() => undefined);
      watch = new PrefixWatch(client, electionPrefix, {
        onEvents: (events) => {
          if (leadership) leadership.onElectionEvents(events);
          else {
            electionEvents.push(...events);
            changed();
          }
        },
        // History compacted past where the watch stood: what happened in between is unknown, so
        // watch on from the compaction and look again (the campaign loop reads the keys ahead; a
        // leader checks that its own key is still there).
        onCompacted: (compactRevision) => {
          watch?.start(compactRevision);
          if (leadership) leadership.checkKey();
          else changed();
        },
        // The election prefix can no longer be watched (permission revoked, credentials refused):
        // nobody can tell this bridge it lost, so it must not go on as leader.
        onFatal: (error) => {
          if (leadership)
            interrupt(`election watch stopped: ${error instanceof Error ? error.message : String(error)}`);
          else refuse(error);
        },
      });
      watch.start(BigInt(createRevision) + 1n);

      const ourKeyGone = () => electionEvents.some((e) => e.type === 'delete' && e.key === campaignKey);
      for (;;) {
        if (ourKeyGone()) throw new CampaignInterruptedError(`campaign key ${campaignKey} was deleted`);
        electionEvents.length = 0;
        // Armed before the read: a change that comes while its answer is on the way (the key ahead
        // deleted after etcd read it) wakes the wait below, rather than being missed by it.
        const wake = new Promise<void>((resolve) => {
          changed = resolve;
        });
        const ahead = await Promise.race([
          client.kv.range({
            key: buf(electionPrefix),
            range_end: prefixRangeEnd(electionPrefix),
            max_create_revision: (BigInt(createRevision) - 1n).toString(),
            sort_order: 'Descend',
            sort_target: 'Create',
            limit: 1,
          }),
          campaign,
        ]);
        const blocker = ahead.kvs[0];
        if (blocker === undefined) {
          // Nobody ahead; but our own key may have gone while the read was on its way.
          if (ourKeyGone()) throw new CampaignInterruptedError(`campaign key ${campaignKey} was deleted`);
          break;
        }
        // Until the key ahead of ours goes (its lease expires, its bridge resigns), or anything changes.
        log('info', 'waiting for the leader to go', {
          leader: blocker.value.toString('utf8'),
          key: blocker.key.toString('utf8'),
        });
        await Promise.race([wake, campaign]);
      }
      leadership = new Leadership(client, keeper, watch, electionPrefix, campaignKey, createRevision);
      const elected = leadership;
      interrupt = (reason) => elected.lose(new LeadershipLostError(`leader ${reason}`));
      return elected;
    } catch (error) {
      keeper.stop();
      watch?.stop();
      await client.leaseClient.leaseRevoke({ ID: leaseId }).catch(() => undefined);
      throw error;
    }
  }

  /** The endpoint the lease keep-alive goes through now. */
  get keepAliveEndpoint(): string {
    return this.keeper.endpoint;
  }

  /** Keep-alive stream failures since elected (each moved the keep-alive to the next endpoint). */
  get keepAliveFailovers(): number {
    return this.keeper.failovers;
  }

  /** The compare every commit carries. */
  fence(): ICompare {
    return compare.createRevision(this.campaignKey, this.createRevision);
  }

  get lost(): LeadershipLostError | undefined {
    return this.lostError ?? this.fenceFailure;
  }

  onLost(listener: (error: LeadershipLostError) => void): void {
    if (this.lostError) listener(this.lostError);
    else this.lostListeners.push(listener);
  }

  /** Called when a commit's fence compare failed (and by the leadership's own watch and keeper). */
  lose(error: LeadershipLostError): void {
    if (this.lostError) return;
    this.lostError = error;
    this.keeper.stop();
    this.watch.stop();
    for (const listener of this.lostListeners) listener(error);
  }

  /**
   * A commit's fence compare failed. Stops at once (as `lose`), with a message that is true: the
   * election is read (for at most a second) to say whether our key is gone and our lease with it,
   * whether the key was deleted while the lease lived or created anew, and who leads now.
   */
  fenceFailed(): void {
    if (this.lostError || this.fenceFailure) return;
    this.fenceFailure = new LeadershipLostError(
      'commit fence failed: this bridge no longer holds its election key',
    );
    const fallback = `election key ${this.campaignKey} (created at revision ${this.createRevision}) is no longer ours`;
    void this.readLoss(fallback).then((reason) =>
      this.lose(new LeadershipLostError(`commit fence failed: ${reason}`)),
    );
  }

  async resign(): Promise<void> {
    if (this.resigned) return;
    this.resigned = true;
    this.keeper.stop();
    this.watch.stop();
    try {
      await this.client.leaseClient.leaseRevoke({ ID: this.keeper.leaseId });
    } catch {
      // Losing the lease on the way out is fine: it expires by itself.
    }
  }

  /** Our key must still be there with our create revision (after a gap in the election's history). */
  private checkKey(): void {
    void this.client.kv
      .range({ key: buf(this.campaignKey) })
      .then((res) => {
        if (res.kvs[0]?.create_revision === this.createRevision) return;
        const fallback = `election key ${this.campaignKey} is gone`;
        return this.readLoss(fallback).then((reason) =>
          this.lose(new LeadershipLostError(`leadership lost: ${reason}`)),
        );
      })
      .catch(() => undefined); // etcd unreachable: the keeper and the fence will tell
  }

  private onElectionEvents(events: SourceEvent[]): void {
    const deleted = events.find((e) => e.type === 'delete' && e.key === this.campaignKey);
    if (!deleted) return;
    const fallback = `election key ${this.campaignKey} deleted at revision ${deleted.revision}`;
    void this.readLoss(fallback, deleted.revision).then((reason) =>
      this.lose(new LeadershipLostError(`leadership lost: ${reason}`)),
    );
  }

  /** Reads the election and our lease (for at most a second) and says what became of our key. */
  private readLoss(fallback: string, deletedAt?: bigint): Promise<string> {
    const explained = Promise.all([
      this.client.kv.range({
        key: buf(this.electionPrefix),
        range_end: prefixRangeEnd(this.electionPrefix),
        sort_order: 'Ascend',
        sort_target: 'Create',
      }),
      this.client.leaseClient.leaseTimeToLive({ ID: this.keeper.leaseId, keys: false }),
    ]).then(([election, ttl]) => this.describeLoss(election, ttl.TTL, deletedAt));
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve(fallback), 1_000).unref());
    return Promise.race([explained, timeout]).catch(() => fallback);
  }

  private describeLoss(election: IRangeResponse, leaseTtl: string, deletedAt?: bigint): string {
    const ours = election.kvs.find((kv) => kv.key.toString('utf8') === this.campaignKey);
    const leader = election.kvs[0];
    const now =
      leader && leader.key.toString('utf8') !== this.campaignKey
        ? `; bridge ${leader.value.toString('utf8')} leads now`
        : '; no bridge leads now';
    if (ours && ours.create_revision !== this.createRevision) {
      return `election key ${this.campaignKey} was deleted and created again (now at revision ${ours.create_revision}, ours was ${this.createRevision})${now}`;
    }
    if (ours) return `election key ${this.campaignKey} is still ours${now}`;
    const at = deletedAt === undefined ? '' : ` at revision ${deletedAt}`;
    return Number(leaseTtl) > 0
      ? `election key ${this.campaignKey} deleted${at} by someone else while its lease lived${now}`
      : `leader lease ${this.keeper.leaseId} expired (etcd deleted election key ${this.campaignKey}${at} with it)${now}`;
  }
}

/**
 * Errors a campaign must not retry: the configuration is wrong (credentials, permissions, a
 * setting), and trying again cannot fix it. The failure classifier says which those are.
 */
function isPermanent(error: unknown): boolean {
  const { reason } = classify(error);
  return reason === 'etcd-auth' || reason === 'config';
}

export interface AcquireWithRetryOptions extends AcquireOptions {
  /** First and largest pause between campaigns; default 200 ms and 5 s. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Stops the retries (a signal before leading): the last error is thrown. */
  signal?: AbortSignal;
}

/**
 * `Leadership.acquire`, again and again while what stops it may pass: etcd unavailable or without a
 * leader, the lease lost or not found while campaigning (etcd restarted, a member cut off). Each
 * retry is logged with its cause and waits with exponential backoff and full jitter. Wrong
 * credentials or permissions end it at once (`isPermanent`: the bridge's failure classifier).
 */
export async function acquireLeadership(
  client: Etcd3,
  root: string,
  bridgeId: string,
  ttlSeconds: number,
  options: AcquireWithRetryOptions = {},
): Promise<Leadership> {
  const log: LeaderLog = options.log ?? (() => {});
  const backoff = new Backoff({
    initialDelayMs: options.initialDelayMs ?? BACKOFF.campaign.initialDelayMs,
    maxDelayMs: options.maxDelayMs ?? BACKOFF.campaign.maxDelayMs,
  });
  for (let attempt = 1; ; attempt++) {
    try {
      return await Leadership.acquire(client, root, bridgeId, ttlSeconds, options);
    } catch (error) {
      if (isPermanent(error) || options.signal?.aborted) throw error;
      const delayMs = backoff.next();
      log('warn', 'campaign failed; campaigning again', {
        attempt,
        delayMs,
        error: error instanceof Error ? error.message : String(error),
      });
      await sleep(delayMs, options.signal);
    }
  }
}
