import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommitRequest, Committer } from '../../bridge/commit/committer.js';
import { LeadershipLostError } from '../../bridge/errors.js';
import { keyspaceFor, padRevision } from '../../bridge/keyspace.js';
import { Leadership } from '../../bridge/leader.js';
import type { CommittedPut } from '../../bridge/worker/hand-off.js';
import { type EtcdFixture, history, startEtcd, stopEtcd } from '../helpers/etcd.js';

describe('Committer against a real etcd', () => {
  let fixture: EtcdFixture;
  let leadership: Leadership;
  const ks = keyspaceFor(`committer-${randomUUID().slice(0, 6)}`);

  beforeAll(async () => {
    fixture = await startEtcd();
    leadership = await Leadership.acquire(fixture.client, ks.root, 'test-bridge', 5);
  });

  afterAll(async () => {
    await leadership?.resign();
    await stopEtcd(fixture);
  });

  const committer = (checkpoint?: bigint) =>
    new Committer(
      fixture.client,
      leadership,
      (route) => ks.checkpoint(route),
      () => checkpoint,
    );

  const request = (
    route: string,
    key: string,
    revision: bigint,
    mutations: CommitRequest['mutations'],
  ): CommitRequest => ({
    route,
    sourceKey: key,
    revision,
    markerKey: ks.applied(route, key),
    markerModRevision: '0',
    mutations,
    item: {},
  });

  it('commits many records in few transactions of at most 128 operations, with markers and checkpoint', async () => {
    // Prepare
    const c = committer(999n);
    const requests = Array.from({ length: 300 }, (_, i) =>
      request('r', `/src/${i}`, BigInt(i + 1), [{ op: 'put', key: `/out/${i}`, value: `v${i}` }]),
    );

    // Act
    const outcomes = await Promise.all(requests.map((r) => c.submit(r)));

    // Assess
    expect(outcomes.every((o) => o === 'committed')).toBe(true);
    expect(c.stats.records).toBe(300);
    // 2 operations a record (output + marker) plus the checkpoint: at least 3 transactions, far fewer than 300.
    expect(c.stats.transactions).toBeGreaterThanOrEqual(3);
    expect(c.stats.transactions).toBeLessThanOrEqual(10);
    expect(await fixture.client.get('/out/299').string()).toBe('v299');
    expect(await fixture.client.get(ks.applied('r', '/src/299')).string()).toBe(padRevision(300n));
    expect(await fixture.client.get(ks.checkpoint('r')).string()).toBe(padRevision(999n));
  });

  it('a redelivered record commits nothing', async () => {
    const c = committer();
    expect(
      await c.submit(request('dup', '/src/a', 10n, [{ op: 'put', key: '/dup/a', value: 'first' }])),
    ).toBe('committed');
    // The same revision again, as after a crash: its marker read said "absent" before the first commit.
    const again = await c.submit(
      request('dup', '/src/a', 10n, [{ op: 'put', key: '/dup/a', value: 'second' }]),
    );
    expect(again).toBe('already-applied');
    expect(await fixture.client.get('/dup/a').string()).toBe('first');
    // An older revision after a newer one was applied: also nothing.
    expect(await c.submit(request('dup', '/src/a', 9n, [{ op: 'put', key: '/dup/a', value: 'older' }]))).toBe(
      'already-applied',
    );
    const writes = (await history(fixture.client, '/dup/')).map((e) => e.value);
    expect(writes).toEqual(['first']);
  });

  it('without a marker read: commits a new record once, and never a redelivered or overtaken one', async () => {
    // Prepare: records of a route that reads nothing come with no marker mod revision.
    const unread = (key: string, revision: bigint, value: string): CommitRequest => ({
      ...request('unread', key, revision, [{ op: 'put', key: `/unread-out${key}`, value }]),
      markerModRevision: undefined,
    });
    const a = (await fixture.client.put('/unread-src/a').value('1').exec()).header.revision;

    // Act + Assess: no marker yet: it commits.
    expect(await committer().submit(unread('/a', BigInt(a), 'first'))).toBe('committed');
    // Redelivered to a committer that knows nothing of the first commit (a restarted bridge): the
    // marker was written after the record existed, so the compare fails and the marker says applied.
    const fresh = committer();
    expect(await fresh.submit(unread('/a', BigInt(a), 'again'))).toBe('already-applied');
    expect(fresh.stats.conflicts).toBe(1);

    // Two revisions of a key written before the older one commits: the newer one meets a marker
    // written after it existed (the older record's), which the conflict reads, and then commits.
    const b1 = (await fixture.client.put('/unread-src/b').value('1').exec()).header.revision;
    const b2 = (await fixture.client.put('/unread-src/b').value('2').exec()).header.revision;
    expect(await committer().submit(unread('/b', BigInt(b1), 'older'))).toBe('committed');
    const next = committer();
    expect(await next.submit(unread('/b', BigInt(b2), 'newer'))).toBe('committed');
    expect(next.stats.conflicts).toBe(1);
    // The committer that wrote a marker compares its exact revision: no conflict for the next one.
    const b3 = (await fixture.client.put('/unread-src/b').value('3').exec()).header.revision;
    expect(await next.submit(unread('/b', BigInt(b3), 'newest'))).toBe('committed');
    expect(next.stats.conflicts).toBe(1);

    const writes = (await history(fixture.client, '/unread-out/')).map((e) => `${e.key} ${e.value}`);
    expect(writes).toEqual([
      '/unread-out/a first',
      '/unread-out/b older',
      '/unread-out/b newer',
      '/unread-out/b newest',
    ]);
  });

  it("hands a consumed put over with the consumer's reads, read after the transaction's own writes", async () => {
    // Prepare: one transaction commits a record that writes /piggy/state/a (as stage job-state
    // does) and a record that writes /piggy/job/a, which another route consumes and reads
    // /piggy/state/a for.
    const offers: CommittedPut[] = [];
    const c = new Committer(
      fixture.client,
      leadership,
      (route) => ks.checkpoint(route),
      () => undefined,
      {
        handOff: {
          consumes: (key) => key.startsWith('/piggy/job/'),
          readsFor: (key) => [ks.applied('consumer', key), key.replace('/job/', '/state/')],
          offer: (puts) => offers.push(...puts),
        },
      },
    );
    await fixture.client.put('/piggy/state/a').value('before').exec();

    // Act: both records in one transaction (queued behind one in flight, so they go together)
    await Promise.all([
      c.submit(request('other', '/piggy/src0/a', 1n, [{ op: 'put', key: '/piggy/other', value: '0' }])),
      c.submit(
        request('stage2', '/piggy/src2/a', 1n, [{ op: 'put', key: '/piggy/state/a', value: 'after' }]),
      ),
      c.submit(request('stage1', '/piggy/src1/a', 1n, [{ op: 'put', key: '/piggy/job/a', value: 'job' }])),
    ]);

    // Assess: the offered put carries a snapshot at its revision with the state its own transaction
    // wrote (the same mod revision), and the consumer's marker (none yet).
    expect(c.stats.transactions).toBe(2);
    expect(offers).toHaveLength(1);
    const snapshot = offers[0]!.snapshot!;
    expect(snapshot.revision).toBe(offers[0]!.revision);
    expect(snapshot.entries.get('/piggy/state/a')?.value.toString()).toBe('after');
    expect(snapshot.entries.get('/piggy/state/a')?.modRevision).toBe(offers[0]!.revision.toString());
    expect(snapshot.entries.get(ks.applied('consumer', '/piggy/job/a'))).toBeNull();
    // Nothing committed since for the consumer's marker; a later write of it makes the snapshot stale.
    expect(c.wroteMarkerSince(ks.applied('consumer', '/piggy/job/a'), snapshot.revision)).toBe(false);
    await c.submit(
      request('consumer', '/piggy/job/a', snapshot.revision, [
        { op: 'put', key: '/piggy/state/a', value: 'x' },
      ]),
    );
    expect(c.wroteMarkerSince(ks.applied('consumer', '/piggy/job/a'), snapshot.revision)).toBe(true);
  });

  it('hands a put over without reads when the transaction has no room for them', async () => {
    const offers: CommittedPut[] = [];
    const c = new Committer(
      fixture.client,
      leadership,
      (route) => ks.checkpoint(route),
      () => undefined,
      {
        maxOps: 8,
        handOff: {
          consumes: (key) => key.startsWith('/full/job/'),
          readsFor: (key) => [ks.applied('consumer', key), '/full/a', '/full/b', '/full/c'],
          offer: (puts) => offers.push(...puts),
        },
      },
    );
    // Behind one in flight, 3 records of 2 operations each (marker, put) leave 2 of 8: too few for 4 reads.
    await Promise.all(
      ['w', 'x', 'y', 'z'].map((id) =>
        c.submit(request('full', `/full/src/${id}`, 1n, [{ op: 'put', key: `/full/job/${id}`, value: id }])),
      ),
    );
    expect(c.stats.transactions).toBe(2);
    expect(offers).toHaveLength(4);
    // The first went alone and had room; the three after it had none.
    expect(offers.map((put) => put.snapshot !== undefined)).toEqual([true, false, false, false]);
  });

  it('drops an ifModRevision delete when the key has moved on, and commits the rest', async () => {
    const c = committer();
    const put = await fixture.client.put('/job/x').value('{}').exec();
    await fixture.client.put('/job/x').value('newer job');
    await c.submit(
      request('cond', '/job/x', BigInt(put.header.revision), [
        { op: 'put', key: '/state/x', value: 'done' },
        { op: 'delete', key: '/job/x', ifModRevision: put.header.revision },
      ]),
    );
    expect(await fixture.client.get('/job/x').string()).toBe('newer job');
    expect(await fixture.client.get('/state/x').string()).toBe('done');
  });

  it('a deposed leader commits nothing', async () => {
    // Prepare: a second leadership of its own group, then its campaign key vanishes (lease revoked).
    const other = keyspaceFor(`deposed-${randomUUID().slice(0, 6)}`);
    const deposed = await Leadership.acquire(fixture.client, other.root, 'old-leader', 5);
    const c = new Committer(
      fixture.client,
      deposed,
      (route) => other.checkpoint(route),
      () => undefined,
    );
    await fixture.client.delete().key(deposed.campaignKey);

    // Act
    const attempt = c.submit({
      ...request('fence', '/src/f', 1n, [{ op: 'put', key: '/fenced/f', value: 'x' }]),
      markerKey: other.applied('fence', '/src/f'),
    });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(LeadershipLostError);
    expect(deposed.lost).toBeInstanceOf(LeadershipLostError);
    expect(await fixture.client.get('/fenced/f').string()).toBeNull();
  });
});
