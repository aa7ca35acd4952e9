/**
 * Leadership of a bridge group, through etcd3's Election. The campaign key lives on a lease: while
 * it exists with the create revision we were elected with, no other bridge can be leader (etcd's
 * election picks the oldest key), so every commit compares exactly that — a fence that makes a
 * deposed bridge (paused past its lease, partitioned) commit nothing.
 */
import type { Campaign, Etcd3, ICompare } from 'etcd3';
import { LeadershipLostError } from './errors.js';
import { compare } from './etcd/ops.js';

export class Leadership {
  private lostError: LeadershipLostError | undefined;
  private readonly lostListeners: Array<(error: LeadershipLostError) => void> = [];

  private constructor(
    private readonly campaign: Campaign,
    readonly campaignKey: string,
    readonly createRevision: string,
  ) {
    campaign.on('error', (error) =>
      this.lose(new LeadershipLostError(`leader lease lost: ${error.message}`, { cause: error })),
    );
  }

  /** Campaign until elected. Resolves as leader; rejects if the campaign fails first. */
  static async acquire(
    client: Etcd3,
    root: string,
    bridgeId: string,
    ttlSeconds: number,
  ): Promise<Leadership> {
    // Namespaced under the group's bookkeeping root: keys `<root>election/leader/<lease id>`.
    const campaign = client.namespace(root).election('leader', ttlSeconds).campaign(bridgeId);
    // Until a Leadership listens, an 'error' event must not crash the process.
    const early: Error[] = [];
    const onEarly = (error: Error) => early.push(error);
    campaign.on('error', onEarly);
    await campaign.wait();
    const campaignKey = await campaign.getCampaignKey();
    const kv = await client.get(campaignKey).exec();
    const createRevision = kv.kvs[0]?.create_revision;
    campaign.removeListener('error', onEarly);
    if (early.length > 0 || !createRevision) {
      throw new LeadershipLostError(`campaign failed: ${early[0]?.message ?? 'campaign key vanished'}`);
    }
    return new Leadership(campaign, campaignKey, createRevision);
  }

  /** The compare every commit carries. */
  fence(): ICompare {
    return compare.createRevision(this.campaignKey, this.createRevision);
  }

  get lost(): LeadershipLostError | undefined {
    return this.lostError;
  }

  onLost(listener: (error: LeadershipLostError) => void): void {
    if (this.lostError) listener(this.lostError);
    else this.lostListeners.push(listener);
  }

  /** Called when a commit's fence compare failed: another bridge leads now. */
  lose(error: LeadershipLostError): void {
    if (this.lostError) return;
    this.lostError = error;
    for (const listener of this.lostListeners) listener(error);
  }

  async resign(): Promise<void> {
    try {
      await this.campaign.resign();
    } catch {
      // Losing the lease on the way out is fine: it expires by itself.
    }
  }
}
