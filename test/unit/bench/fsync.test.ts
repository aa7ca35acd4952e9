import { describe, expect, it } from 'vitest';
import { formatFsyncs, fsyncsBetween, parseFsyncHistogram } from '../../../bench/fsync.js';

const metrics = (counts: Record<string, number>, total: number) =>
  [
    '# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL.',
    '# TYPE etcd_disk_wal_fsync_duration_seconds histogram',
    ...Object.entries(counts).map(
      ([le, n]) => `etcd_disk_wal_fsync_duration_seconds_bucket{le="${le}"} ${n}`,
    ),
    `etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} ${total}`,
    'etcd_disk_wal_fsync_duration_seconds_sum 1.5',
    `etcd_disk_wal_fsync_duration_seconds_count ${total}`,
    'etcd_disk_backend_commit_duration_seconds_count 99',
  ].join('\n');

describe('etcd WAL fsync tally', () => {
  it('counts the fsyncs of a window and those slower than each bound', () => {
    const before = parseFsyncHistogram(metrics({ '0.008': 90, '0.016': 95, '0.032': 98, '0.064': 100 }, 100));
    const after = parseFsyncHistogram(
      metrics({ '0.008': 1080, '0.016': 1092, '0.032': 1097, '0.064': 1099 }, 1100),
    );
    expect(before.count).toBe(100);
    const tally = fsyncsBetween(before, after);
    expect(tally).toEqual({ count: 1000, over8ms: 10, over16ms: 3, over32ms: 1, over64ms: 1 });
    expect(formatFsyncs(tally)).toBe('etcd WAL fsyncs 1000: > 8 ms 10, > 16 ms 3, > 32 ms 1, > 64 ms 1');
  });
});
