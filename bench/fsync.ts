/**
 * etcd's WAL fsyncs over a window, from its own histogram (`etcd_disk_wal_fsync_duration_seconds`
 * on the client URL's /metrics): how many, and how many took longer than the buckets the latency
 * targets care about. Every write of the pipeline waits for one of them, so a slow fsync is a floor
 * under the latency of everything written around it.
 */

/** Cumulative bucket counts by upper bound (seconds), and the total count. */
export interface FsyncHistogram {
  readonly buckets: ReadonlyMap<number, number>;
  readonly count: number;
}

export interface FsyncTally {
  readonly count: number;
  /** Fsyncs slower than 8, 16, 32 and 64 ms (the histogram's bucket bounds). */
  readonly over8ms: number;
  readonly over16ms: number;
  readonly over32ms: number;
  readonly over64ms: number;
}

const METRIC = 'etcd_disk_wal_fsync_duration_seconds';

export function parseFsyncHistogram(text: string): FsyncHistogram {
  const buckets = new Map<number, number>();
  let count = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${METRIC}_bucket{`)) {
      const match = /le="([^"]+)"\}\s+(\S+)/.exec(line);
      if (match)
        buckets.set(match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]), Number(match[2]));
    } else if (line.startsWith(`${METRIC}_count `)) count = Number(line.slice(METRIC.length + 7));
  }
  return { buckets, count };
}

/** What happened between two readings of the histogram. */
export function fsyncsBetween(before: FsyncHistogram, after: FsyncHistogram): FsyncTally {
  const atMost = (h: FsyncHistogram, le: number) => h.buckets.get(le) ?? 0;
  const over = (le: number) => after.count - atMost(after, le) - (before.count - atMost(before, le));
  return {
    count: after.count - before.count,
    over8ms: over(0.008),
    over16ms: over(0.016),
    over32ms: over(0.032),
    over64ms: over(0.064),
  };
}

export async function readFsyncHistogram(clientUrl: string): Promise<FsyncHistogram | undefined> {
  try {
    const response = await fetch(`${clientUrl}/metrics`);
    return response.ok ? parseFsyncHistogram(await response.text()) : undefined;
  } catch {
    return undefined; // a figure beside the latency, not a reason to fail the phase
  }
}

export function formatFsyncs(tally: FsyncTally): string {
  return `etcd WAL fsyncs ${tally.count}: > 8 ms ${tally.over8ms}, > 16 ms ${tally.over16ms}, > 32 ms ${tally.over32ms}, > 64 ms ${tally.over64ms}`;
}
