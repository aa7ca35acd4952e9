/**
 * A micro-benchmark, not a phase: the bridge's etcd codec (bridge/etcd/lean-codec.ts) against
 * etcd3's own (@grpc/proto-loader over etcd3's .proto files, with etcd3's options), on messages
 * shaped like the hot path's: a group commit (a fence and 44 marker compares, 128 puts of 800-byte
 * values), its answer (128 put answers, each with a header), a watch answer of 100 puts and a range
 * answer of 44 records. Each after a warm-up; the two codecs take turns, twice.
 *
 *   npx tsx bench/etcd-codec.ts      (and with Node 24 first on PATH)
 */
import { LEAN_DECODERS, LEAN_ENCODERS } from '../bridge/etcd/lean-codec.js';
import { encodeMessage, etcd3Method, Long } from '../test/helpers/etcd3-codec.js';

const value = Buffer.alloc(800, 'x');
const key = (i: number) => Buffer.from(`/esi-worker/job_state/v2.0/ports/p-${i}`);
const header = {
  cluster_id: Long.fromString('14841639068965178418', true),
  member_id: Long.fromString('10276657743932975437', true),
  revision: Long.fromString('123456', false),
  raft_term: Long.fromString('2', true),
};
const kv = (i: number) => ({
  key: key(i),
  create_revision: 1000 + i,
  mod_revision: 2000 + i,
  version: 3,
  value,
});

// The commit as the bridge hands it to etcd3's serializer: int64s as numbers, bytes as Buffers.
const commit = {
  compare: [
    {
      key: Buffer.from('/etcd-bridge/bench/fence'),
      target: 'Value',
      result: 'Equal',
      value: Buffer.from('7'),
    },
    ...Array.from({ length: 44 }, (_, i) => ({
      key: key(i),
      target: 'Mod',
      result: 'Less',
      mod_revision: 5000 + i,
    })),
  ],
  success: Array.from({ length: 128 }, (_, i) => ({ request_put: { key: key(i), value } })),
  failure: [],
};

const cases = [
  { name: 'commit request (encode)', path: '/etcdserverpb.KV/Txn', encode: commit },
  {
    name: 'commit answer (decode)',
    path: '/etcdserverpb.KV/Txn',
    decode: encodeMessage('etcdserverpb.TxnResponse', {
      header,
      succeeded: true,
      responses: Array.from({ length: 128 }, () => ({ response_put: { header } })),
    }),
  },
  {
    name: 'watch answer (decode)',
    path: '/etcdserverpb.Watch/Watch',
    decode: encodeMessage('etcdserverpb.WatchResponse', {
      header,
      watch_id: 1,
      events: Array.from({ length: 100 }, (_, i) => ({ type: 0, kv: kv(i) })),
    }),
  },
  {
    name: 'range answer (decode)',
    path: '/etcdserverpb.KV/Range',
    decode: encodeMessage('etcdserverpb.RangeResponse', {
      header,
      kvs: Array.from({ length: 44 }, (_, i) => kv(i)),
      count: 44,
    }),
  },
];

function usPerCall(run: () => unknown, calls: number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) run();
  return Number(process.hrtime.bigint() - started) / calls / 1000;
}

console.log(`Node ${process.version}; µs a call, etcd3's codec → the bridge's`);
for (const c of cases) {
  const [service, method] = c.path.slice('/etcdserverpb.'.length).split('/') as [string, string];
  const etcd3 = etcd3Method(service, method);
  const runs: Array<() => unknown> =
    c.encode !== undefined
      ? [() => etcd3.requestSerialize(c.encode), () => LEAN_ENCODERS.get(c.path)?.(c.encode)]
      : [() => etcd3.responseDeserialize(c.decode), () => LEAN_DECODERS.get(c.path)?.(c.decode)];
  const figures: string[] = [];
  for (let round = 0; round < 2; round++)
    for (const run of runs) {
      usPerCall(run, 2_000);
      figures.push(usPerCall(run, 10_000).toFixed(1));
    }
  console.log(`${c.name.padEnd(24)} ${figures[0]} → ${figures[1]}, then ${figures[2]} → ${figures[3]}`);
}
