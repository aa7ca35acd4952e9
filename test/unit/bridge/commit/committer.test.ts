import type { Etcd3, ICompare, IRequestOp } from 'etcd3';
import {
  EtcdPermissionDeniedError,
  GRPCInvalidArgumentError,
  GRPCResourceExhastedError,
  GRPCUnavailableError,
} from 'etcd3';
import { describe, expect, it } from 'vitest';
import { type CommitRequest, Committer } from '../../../../bridge/commit/committer.js';
import { CommitRejectedError, LeadershipLostError } from '../../../../bridge/errors.js';
import type { Leadership } from '../../../../bridge/leader.js';
import type { CommittedPut } from '../../../../bridge/worker/hand-off.js';

const NO_SPACE = () =>
  new GRPCResourceExhastedError('8 RESOURCE_EXHAUSTED: etcdserver: mvcc: database space exceeded');

/**
 * A kv.txn whose answer the test decides per transaction: `answer` gets the keys the transaction
 * puts and throws, or returns whether it succeeded.
 */
function fakeEtcd(answer: (puts: string[]) => boolean) {
  const txns: string[][] = [];
  const client = {
    kv: {
      txn: async ({ success }: { success: IRequestOp[] }) => {
        const puts = success.flatMap((op) => (op.request_put ? [String(op.request_put.key)] : []));
        txns.push(puts);
        return { succeeded: answer(puts), responses: [], header: { revision: '1' } };
      },
    },
  } as unknown as Etcd3;
  return { client, txns };
}

const leadership = {
  lost: undefined,
  campaignKey: '/leader',
  createRevision: '1',
  fence: () => ({ key: Buffer.from('/leader'), target: 'Create', result: 'Equal', create_revision: '1' }),
  fenceFailed: () => {},
} as unknown as Leadership;

const request = (key: string, revision = 5n): CommitRequest => ({
  route: 'r',
  sourceKey: key,
  revision,
  markerKey: `/applied${key}`,
  markerModRevision: '0',
  mutations: [{ op: 'put', key: `/out${key}`, value: 'v' }],
  item: {},
});

function committer(client: Etcd3, logs: string[] = []) {
  return new Committer(
    client,
    leadership,
    (route) => `/checkpoint/${route}`,
    () => undefined,
    {
      log: (_level, message) => logs.push(message),
      random: () => 0,
    },
  );
}

describe('Committer on etcd pressure', () => {
  it('holds the records while etcd is out of space, says so once, and commits them when it has room', async () => {
    // Prepare: the first three transactions meet the NOSPACE alarm
    let refusals = 3;
    const { client, txns } = fakeEtcd(() => {
      if (refusals-- > 0) throw NO_SPACE();
      return true;
    });
    const logs: string[] = [];
    const c = committer(client, logs);
    // Act
    const pending = Promise.all([c.submit(request('/a')), c.submit(request('/b'))]);
    const pausedMeanwhile = await (async () => {
      while (txns.length < 2) await new Promise((resolve) => setTimeout(resolve, 1));
      return c.paused?.reason;
    })();
    // Assess
    expect(await pending).toEqual(['committed', 'committed']);
    expect(pausedMeanwhile).toBe('etcd-no-space');
    expect(c.paused).toBeUndefined();
    expect(logs).toEqual(['commits paused: etcd refuses writes', 'commits resumed: etcd takes writes again']);
    expect(c.failures.entries()).toEqual([{ verdict: 'retry', reason: 'etcd-no-space', count: 3 }]);
  });

  it('tries the checkpoint flush again while paused; the flush etcd takes ends the episode', async () => {
    // Prepare
    let refusals = 2;
    const { client, txns } = fakeEtcd(() => {
      if (refusals-- > 0) throw NO_SPACE();
      return true;
    });
    const logs: string[] = [];
    let checkpoint = 10n;
    const c = new Committer(
      client,
      leadership,
      (route) => `/checkpoint/${route}`,
      () => checkpoint,
      {
        log: (_level, message) => logs.push(message),
      },
    );
    // Act / Assess
    await c.flushCheckpoints(['r']);
    expect(c.paused?.reason).toBe('etcd-no-space');
    await c.flushCheckpoints(['r']);
    expect(c.lastCheckpoint('r')).toBeUndefined();
    checkpoint = 11n;
    await c.flushCheckpoints(['r']);
    expect(txns).toHaveLength(3);
    expect(c.lastCheckpoint('r')).toBe(11n);
    expect(c.paused).toBeUndefined();
    expect(logs).toEqual(['commits paused: etcd refuses writes', 'commits resumed: etcd takes writes again']);
  });

  it('an episode with nothing waiting pauses nothing', async () => {
    const { client } = fakeEtcd(() => {
      throw NO_SPACE();
    });
    let checkpoint: bigint | undefined = 10n;
    const c = new Committer(
      client,
      leadership,
      (route) => `/checkpoint/${route}`,
      () => checkpoint,
    );
    await c.flushCheckpoints(['r']);
    expect(c.paused).toBeDefined();
    checkpoint = undefined; // nothing left to write
    await c.flushCheckpoints(['r']);
    expect(c.paused).toBeUndefined();
  });
});

describe('Committer on a terminal or fatal failure', () => {
  it('isolates the record etcd refuses as too large; the others commit', async () => {
    const { client } = fakeEtcd((puts) => {
      if (puts.includes('/out/huge')) throw new GRPCInvalidArgumentError('etcdserver: request is too large');
      return true;
    });
    const c = committer(client);
    const outcomes = await Promise.allSettled([
      c.submit(request('/a')),
      c.submit(request('/huge')),
      c.submit(request('/c')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const rejected = outcomes[1] as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(CommitRejectedError);
    expect(rejected.reason.cause).toBeInstanceOf(GRPCInvalidArgumentError);
  });

  it('backs off when a record committed alone meets pressure, and stops on a fatal error there', async () => {
    // The batch is refused as too large; each record alone then meets NOSPACE (a few times), or
    // permission denied. Before, the rest went back unhandled: the refused batch was rebuilt at
    // once, thousands of times a second, and a fatal error never stopped the committer.
    let pressured = 0;
    const tooLarge = (puts: string[]) => puts.filter((key) => key.startsWith('/applied')).length > 1;
    const { client, txns } = fakeEtcd((puts) => {
      if (tooLarge(puts)) throw new GRPCInvalidArgumentError('etcdserver: request is too large');
      if (pressured++ < 3) throw NO_SPACE();
      return true;
    });
    const logs: string[] = [];
    const c = committer(client, logs);
    const outcomes = await Promise.allSettled([c.submit(request('/a')), c.submit(request('/b'))]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
    // Three refusals, each followed by a backoff: a handful of transactions, not thousands.
    expect(txns.length).toBeLessThan(12);
    expect(logs).toEqual(['commits paused: etcd refuses writes', 'commits resumed: etcd takes writes again']);

    const denied = fakeEtcd((puts) => {
      if (tooLarge(puts)) throw new GRPCInvalidArgumentError('etcdserver: request is too large');
      throw new EtcdPermissionDeniedError('etcdserver: permission denied');
    });
    const stopped = committer(denied.client);
    const refused = await Promise.allSettled([stopped.submit(request('/a')), stopped.submit(request('/b'))]);
    expect(refused.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(denied.txns.length).toBeLessThan(5);
  });

  it('never writes a checkpoint below one sent in a transaction whose answer was lost', async () => {
    // The first transaction (checkpoint 5) may have been applied though its answer never came;
    // the retry's checkpoint, computed again, is 4 (its record not yet marked done): not written.
    const candidates = [5n, 4n, 6n];
    let answers = 0;
    const { client, txns } = fakeEtcd(() => {
      if (answers++ === 0) throw new GRPCUnavailableError('14 UNAVAILABLE: the answer was lost');
      return true;
    });
    const c = new Committer(
      client,
      leadership,
      (route) => `/checkpoint/${route}`,
      () => candidates.shift(),
      { random: () => 0 },
    );
    await c.submit(request('/a'));
    await c.submit(request('/b'));
    const checkpointPuts = txns.map((puts) => puts.filter((key) => key === '/checkpoint/r').length);
    expect(checkpointPuts).toEqual([1, 0, 1]); // 5 (lost), 4 skipped, 6
  });

  it('rejects everything queued when leadership is lost', async () => {
    const { client } = fakeEtcd(() => {
      throw new LeadershipLostError('gone');
    });
    const c = committer(client);
    const outcomes = await Promise.allSettled([c.submit(request('/a')), c.submit(request('/b'))]);
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof LeadershipLostError)).toBe(
      true,
    );
  });
});

describe('Committer hand-off', () => {
  /** A kv.txn that answers each put with a previous value when `previous` has one for its key. */
  function answeringEtcd(previous: Record<string, string>, succeeded = true) {
    const sent: IRequestOp[][] = [];
    const client = {
      kv: {
        txn: async ({ success }: { success: IRequestOp[] }) => {
          sent.push(success);
          const responses = success.map((op) => {
            const key = op.request_put ? String(op.request_put.key) : '';
            const mod = previous[key];
            return {
              response_put: {
                prev_kv: op.request_put?.prev_kv && mod ? { key: Buffer.from(key), mod_revision: mod } : null,
              },
            };
          });
          return { succeeded, responses: succeeded ? responses : [], header: { revision: '42' } };
        },
      },
    } as unknown as Etcd3;
    return { client, sent };
  }

  function handingCommitter(client: Etcd3, offers: CommittedPut[][]) {
    return new Committer(
      client,
      leadership,
      (route) => `/checkpoint/${route}`,
      () => undefined,
      {
        random: () => 0,
        handOff: {
          consumes: (key) => key.startsWith('/out/'),
          offer: (puts) => offers.push([...puts]),
          readsFor: () => [],
        },
      },
    );
  }

  it('asks prev_kv for the puts another route consumes and offers them at the transaction revision', async () => {
    // Prepare
    const { client, sent } = answeringEtcd({ '/out/a': '30' });
    const offers: CommittedPut[][] = [];
    const c = handingCommitter(client, offers);

    // Act
    await Promise.all([c.submit(request('/a')), c.submit(request('/b'))]);

    // Assess: the markers do not ask prev_kv, the outputs do; /b had no previous value.
    const puts = sent.flat().filter((op) => op.request_put);
    expect(puts.filter((op) => op.request_put!.prev_kv).map((op) => String(op.request_put!.key))).toEqual([
      '/out/a',
      '/out/b',
    ]);
    expect(offers.flat()).toEqual([
      { key: '/out/a', value: Buffer.from('v'), revision: 42n, prevModRevision: 30n },
      { key: '/out/b', value: Buffer.from('v'), revision: 42n, prevModRevision: undefined },
    ]);
  });

  it('offers nothing when the transaction did not commit', async () => {
    const { client } = answeringEtcd({}, false);
    const offers: CommittedPut[][] = [];
    const c = handingCommitter(client, offers);
    // A failed compare re-reads the markers: this fake answers that read with nothing, then fails.
    await Promise.race([c.submit(request('/a')).catch(() => {}), new Promise((r) => setTimeout(r, 50))]);
    expect(offers).toEqual([]);
  });
});

/** A tiny etcd: puts, gets and Mod/Create compares, one revision per transaction that writes. */
function memoryEtcd() {
  const kvs = new Map<string, { value: Buffer; mod_revision: string; create_revision: string }>();
  let revision = 1;
  kvs.set('/leader', { value: Buffer.from('me'), mod_revision: '1', create_revision: '1' });
  const holds = (c: ICompare) => {
    const kv = kvs.get(String(c.key));
    const actual = BigInt(c.target === 'Create' ? (kv?.create_revision ?? '0') : (kv?.mod_revision ?? '0'));
    const wanted = BigInt((c.target === 'Create' ? c.create_revision : c.mod_revision) ?? '0');
    return c.result === 'Less' ? actual < wanted : actual === wanted;
  };
  const puts: string[] = [];
  const apply = (compare: ICompare[], success: IRequestOp[]) => {
    const succeeded = compare.every(holds);
    if (!succeeded) return { succeeded, responses: [], header: { revision: String(revision) } };
    if (success.some((o) => o.request_put)) revision++;
    const responses = success.map((o) => {
      if (o.request_put) {
        const key = String(o.request_put.key);
        puts.push(key);
        const before = kvs.get(key);
        kvs.set(key, {
          value: Buffer.from(o.request_put.value!),
          mod_revision: String(revision),
          create_revision: before?.create_revision ?? String(revision),
        });
        return { response_put: {} };
      }
      const kv = kvs.get(String(o.request_range!.key));
      return { response_range: { kvs: kv ? [{ ...kv, key: o.request_range!.key }] : [] } };
    });
    return { succeeded, responses, header: { revision: String(revision) } };
  };
  return { kvs, puts, apply };
}

describe('Committer: a commit whose answer was lost, then etcd goes away', () => {
  it('does not commit the record a second time when reading the checkpoints fails', async () => {
    const etcd = memoryEtcd();
    let commits = 0;
    let checkpointReads = 0;
    const client = {
      kv: {
        txn: async ({ compare, success }: { compare: ICompare[]; success: IRequestOp[] }) => {
          const writes = success.some((o) => o.request_put);
          if (writes && commits++ === 0) {
            // Applied, the answer lost; etcd3 sends it again by itself, and the retry meets its markers.
            etcd.apply(compare, success);
            return etcd.apply(compare, success);
          }
          const readsCheckpoints = success.every((o) =>
            String(o.request_range?.key).startsWith('/checkpoint/'),
          );
          if (!writes && readsCheckpoints && checkpointReads++ === 0)
            throw new GRPCUnavailableError('14 UNAVAILABLE: connection refused');
          return etcd.apply(compare, success);
        },
      },
    } as unknown as Etcd3;
    const c = new Committer(
      client,
      leadership,
      (route) => `/checkpoint/${route}`,
      () => 5n,
      {
        random: () => 0,
      },
    );
    // A record of a route that reads nothing (stage heat-stacks): its batch did not read its marker.
    const request: CommitRequest = {
      route: 'r',
      sourceKey: '/a',
      revision: 1n,
      markerKey: '/applied/a',
      markerModRevision: undefined,
      mutations: [{ op: 'put', key: '/out/a', value: 'v' }],
      item: {},
    };
    expect(await c.submit(request)).toBe('already-applied');
    expect(etcd.puts.filter((key) => key === '/out/a')).toHaveLength(1); // its output, once
  });
});
