import { describe, expect, it } from 'vitest';
import { KeyQueue } from '../../../../bridge/queue/key-queue.js';

const rec = (key: string, revision: number) => ({ key, revision: BigInt(revision) });

describe('KeyQueue', () => {
  it('hands out one record per key at a time, in revision order per key', () => {
    // Prepare
    const q = new KeyQueue<ReturnType<typeof rec>>();
    const a1 = rec('a', 1);
    const b2 = rec('b', 2);
    const a3 = rec('a', 3);
    for (const r of [a1, b2, a3]) q.push(r);

    // Act
    const first = q.take(10);

    // Assess
    expect(first).toEqual([a1, b2]);
    expect(q.take(10)).toEqual([]); // a is busy: a3 waits
    q.complete(a1);
    expect(q.take(10)).toEqual([a3]);
    expect(q.size).toBe(2);
  });

  it('keeps the low watermark below the oldest unfinished record', () => {
    const q = new KeyQueue<ReturnType<typeof rec>>();
    const [a5, b6, c7] = [rec('a', 5), rec('b', 6), rec('c', 7)];
    q.observe(4n);
    expect(q.lowWatermark()).toBe(4n);
    for (const r of [a5, b6, c7]) q.push(r);
    q.take(3);
    q.complete(b6);
    q.complete(c7);
    expect(q.lowWatermark()).toBe(4n); // a5 is still in flight
    expect(q.lowWatermarkWithout(new Set([a5]))).toBe(7n);
    q.complete(a5);
    expect(q.lowWatermark()).toBe(7n);
    q.observe(9n); // a filtered event
    expect(q.lowWatermark()).toBe(9n);
  });

  it('release puts a record back at the head of its key', () => {
    const q = new KeyQueue<ReturnType<typeof rec>>();
    const [a1, a2] = [rec('a', 1), rec('a', 2)];
    q.push(a1);
    q.push(a2);
    expect(q.take(5)).toEqual([a1]);
    q.release(a1);
    expect(q.take(5)).toEqual([a1]);
    expect(() => q.complete(a2)).toThrow(/not the key's head/);
  });

  it('respects the batch size and stays consistent over many keys', () => {
    const q = new KeyQueue<ReturnType<typeof rec>>();
    for (let i = 1; i <= 10_000; i++) q.push(rec(`k${i % 100}`, i));
    let done = 0;
    let lastWatermark = 0n;
    for (;;) {
      const batch = q.take(64);
      if (batch.length === 0) break;
      expect(batch.length).toBeLessThanOrEqual(64);
      expect(new Set(batch.map((r) => r.key)).size).toBe(batch.length);
      for (const r of batch) q.complete(r);
      done += batch.length;
      const watermark = q.lowWatermark();
      expect(watermark).toBeGreaterThanOrEqual(lastWatermark);
      lastWatermark = watermark;
    }
    expect(done).toBe(10_000);
    expect(q.size).toBe(0);
    expect(q.lowWatermark()).toBe(10_000n);
  });
});

describe('KeyQueue: records pushed ahead of the source (hand-off)', () => {
  it('never lets the watermark pass what the source has delivered', () => {
    // Prepare: the source delivered through 10; a record of key h committed at 20 is handed over.
    const q = new KeyQueue<ReturnType<typeof rec>>();
    q.observe(10n);
    const h20 = rec('h', 20);
    q.pushAhead(h20);

    // Act: it is processed before the source brings revisions 11-19 (other keys').
    expect(q.take(10)).toEqual([h20]);
    expect(q.lowWatermarkWithout(new Set([h20]))).toBe(10n);
    q.complete(h20);

    // Assess: the checkpoint stays at 10 until the source delivers the rest.
    expect(q.lowWatermark()).toBe(10n);
    const b15 = rec('b', 15);
    q.push(b15);
    expect(q.lowWatermark()).toBe(14n);
    q.take(10);
    q.complete(b15);
    expect(q.lowWatermark()).toBe(15n);
    q.observe(20n); // the source's copy of h20 (dropped as handed over)
    expect(q.lowWatermark()).toBe(20n);
  });

  it('keeps the watermark below an unfinished record ahead, and below later source records', () => {
    const q = new KeyQueue<ReturnType<typeof rec>>();
    q.observe(10n);
    const h20 = rec('h', 20);
    q.pushAhead(h20);
    const b12 = rec('b', 12);
    const c25 = rec('c', 25);
    q.push(b12); // the source, arriving after the hand-off with a lower revision
    q.push(c25);
    q.take(10);
    q.complete(b12);
    q.complete(c25);
    expect(q.lowWatermark()).toBe(19n); // h20 unfinished
    expect(q.retained).toBeGreaterThanOrEqual(1);
    expect(q.oldest()).toBe(h20);
    q.complete(h20);
    expect(q.lowWatermark()).toBe(25n);
    expect(q.size).toBe(0);
  });

  it('orders a key’s record ahead after that key’s records already held', () => {
    const q = new KeyQueue<ReturnType<typeof rec>>();
    const a5 = rec('a', 5);
    q.push(a5);
    const a9 = rec('a', 9);
    q.pushAhead(a9);
    expect(q.take(10)).toEqual([a5]);
    q.complete(a5);
    expect(q.take(10)).toEqual([a9]);
  });

  it('does not retain finished records behind an unfinished one (a blocked key): the other keys flow', () => {
    const q = new KeyQueue<ReturnType<typeof rec>>();
    const blocked = rec('bad', 1);
    q.push(blocked);
    expect(q.take(10)).toEqual([blocked]); // taken, never completed
    for (let i = 2; i < 1_000; i++) {
      const r = rec(`k${i}`, i);
      q.push(r);
      expect(q.take(10)).toEqual([r]);
      q.complete(r);
    }
    expect(q.size).toBe(1);
    expect(q.retained).toBeLessThanOrEqual(3);
    expect(q.lowWatermark()).toBe(0n);
    expect(q.oldest()).toBe(blocked);
    q.complete(blocked);
    expect(q.lowWatermark()).toBe(999n);
    expect(q.retained).toBe(0);
  });
});
