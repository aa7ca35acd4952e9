/**
 * The hand-written decoders against the decoder etcd3 itself uses (@grpc/proto-loader over etcd3's
 * own .proto files, with etcd3's options): for any message of the three answer types, encoded by
 * protobufjs from the same files, both give equal objects. Also the int64 edges (negative, around
 * 2^32, 2^53 and 2^63, the largest uint64), fields a newer etcd might add, and a cut message.
 */
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import {
  decodeRangeResponse,
  decodeTxnResponse,
  decodeWatchResponse,
} from '../../../../bridge/etcd/response-decoders.js';
import { encodeMessage as encode, etcd3Method, Long } from '../../../helpers/etcd3-codec.js';

const reference = {
  txn: (message: Buffer) => etcd3Method('KV', 'Txn').responseDeserialize(message),
  range: (message: Buffer) => etcd3Method('KV', 'Range').responseDeserialize(message),
  watch: (message: Buffer) => etcd3Method('Watch', 'Watch').responseDeserialize(message),
};

const INT64_EDGES = [
  0n,
  1n,
  -1n,
  2n ** 31n - 1n,
  2n ** 32n - 1n,
  2n ** 32n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 63n - 1n,
  -(2n ** 63n),
  -(2n ** 53n) - 1n,
];
const UINT64_EDGES = [
  0n,
  1n,
  2n ** 32n,
  2n ** 53n + 1n,
  2n ** 63n,
  2n ** 64n - 1n,
  14_841_639_068_965_178_418n,
];

const int64 = fc
  .oneof(fc.constantFrom(...INT64_EDGES), fc.bigInt(0n, 10_000_000n), fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n))
  .map((value) => Long.fromString(value.toString(), false));
const uint64 = fc
  .oneof(fc.constantFrom(...UINT64_EDGES), fc.bigInt(0n, 2n ** 64n - 1n))
  .map((value) => Long.fromString(value.toString(), true));
const bytes = fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 40 }));

// Every field optional: an absent field must come out as its default, as etcd3's decoder gives it.
const header = fc.record(
  { cluster_id: uint64, member_id: uint64, revision: int64, raft_term: uint64 },
  { requiredKeys: [] },
);
const keyValue = fc.record(
  { key: bytes, create_revision: int64, mod_revision: int64, version: int64, value: bytes, lease: int64 },
  { requiredKeys: [] },
);
const rangeResponse = fc.record(
  { header, kvs: fc.array(keyValue, { maxLength: 4 }), more: fc.boolean(), count: int64 },
  { requiredKeys: [] },
);
const putResponse = fc.record({ header, prev_kv: keyValue }, { requiredKeys: [] });
const deleteRangeResponse = fc.record(
  { header, deleted: int64, prev_kvs: fc.array(keyValue, { maxLength: 3 }) },
  { requiredKeys: [] },
);
const { txnResponse } = fc.letrec((tie) => ({
  txnResponse: fc.record(
    { header, succeeded: fc.boolean(), responses: fc.array(tie('responseOp'), { maxLength: 5 }) },
    { requiredKeys: [] },
  ),
  responseOp: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant({}),
    rangeResponse.map((response_range) => ({ response_range })),
    putResponse.map((response_put) => ({ response_put })),
    deleteRangeResponse.map((response_delete_range) => ({ response_delete_range })),
    tie('txnResponse').map((response_txn) => ({ response_txn })),
    // More than one member of the oneof: etcd never sends it, but the decoders must agree on it too.
    fc.record(
      {
        response_range: rangeResponse,
        response_put: putResponse,
        response_delete_range: deleteRangeResponse,
      },
      { requiredKeys: [] },
    ),
  ),
}));
const event = fc.record(
  { type: fc.constantFrom(0, 1, 7), kv: keyValue, prev_kv: keyValue },
  { requiredKeys: [] },
);
const watchResponse = fc.record(
  {
    header,
    watch_id: int64,
    created: fc.boolean(),
    canceled: fc.boolean(),
    compact_revision: int64,
    cancel_reason: fc.string({ maxLength: 20, unit: 'grapheme' }),
    fragment: fc.boolean(),
    events: fc.array(event, { maxLength: 5 }),
  },
  { requiredKeys: [] },
);

describe('response decoders', () => {
  const cases = [
    { type: 'TxnResponse', arbitrary: txnResponse, decode: decodeTxnResponse, expected: reference.txn },
    {
      type: 'RangeResponse',
      arbitrary: rangeResponse,
      decode: decodeRangeResponse,
      expected: reference.range,
    },
    {
      type: 'WatchResponse',
      arbitrary: watchResponse,
      decode: decodeWatchResponse,
      expected: reference.watch,
    },
  ] as const;
  it.each(cases)('decode any $type as etcd3 does', ({ type, arbitrary, decode, expected }) => {
    fc.assert(
      fc.property(arbitrary as fc.Arbitrary<object>, (plain) => {
        const message = encode(`etcdserverpb.${type}`, plain);
        expect(decode(message)).toEqual(expected(message));
      }),
      { numRuns: 400 },
    );
  });

  it('give each int64 edge the string Long.toString gives', () => {
    for (const revision of INT64_EDGES) {
      const message = encode('etcdserverpb.RangeResponse', {
        header: { revision: Long.fromString(revision.toString(), false) },
        count: Long.fromString(revision.toString(), false),
      });
      const decoded = decodeRangeResponse(message);
      expect(decoded.header?.revision).toBe(revision.toString());
      expect(decoded.count).toBe(revision.toString());
    }
    for (const id of UINT64_EDGES) {
      const message = encode('etcdserverpb.RangeResponse', {
        header: { cluster_id: Long.fromString(id.toString(), true) },
      });
      expect(decodeRangeResponse(message).header?.cluster_id).toBe(id.toString());
    }
  });

  it('keep large IDs apart when they repeat (more of them than the decoder caches, signed and not)', () => {
    // The same 64 bits are one value as a uint64 (the IDs) and another as an int64 (a revision).
    const ids = [
      2n ** 63n,
      2n ** 64n - 1n,
      2n ** 53n + 1n,
      14_841_639_068_965_178_418n,
      2n ** 60n + 7n,
      2n ** 62n,
    ];
    const signed = (id: bigint) => BigInt.asIntN(64, id);
    for (let round = 0; round < 3; round++)
      for (const [i, id] of ids.entries()) {
        const member = ids[(i + 1) % ids.length] as bigint;
        const message = encode('etcdserverpb.RangeResponse', {
          header: {
            cluster_id: Long.fromString(id.toString(), true),
            member_id: Long.fromString(member.toString(), true),
            revision: Long.fromString(signed(id).toString(), false),
          },
        });
        expect(decodeRangeResponse(message).header).toEqual({
          cluster_id: id.toString(),
          member_id: member.toString(),
          revision: signed(id).toString(),
          raft_term: '0',
        });
      }
  });

  it('step over fields they do not know, of every wire type', () => {
    const known = encode('etcdserverpb.WatchResponse', {
      header: { revision: 42 },
      events: [{ type: 1, kv: { key: Buffer.from('k'), mod_revision: 42 } }],
    });
    const writer = protobuf.Writer.create();
    writer.uint32((100 << 3) | 0).uint64(Long.fromString('18446744073709551615', true));
    writer.uint32((101 << 3) | 1).fixed64(7);
    writer.uint32((102 << 3) | 2).bytes(Buffer.from('newer etcd'));
    writer.uint32((103 << 3) | 5).fixed32(9);
    writer
      .uint32((104 << 3) | 3)
      .uint32((1 << 3) | 0)
      .uint32(5)
      .uint32((104 << 3) | 4);
    const message = Buffer.concat([known, writer.finish()]);
    expect(decodeWatchResponse(message)).toEqual(reference.watch(message));
    expect(decodeWatchResponse(message).events[0]?.kv?.key.toString()).toBe('k');
  });

  it('refuse a cut message, as etcd3 does', () => {
    const message = encode('etcdserverpb.TxnResponse', {
      header: { revision: 5 },
      succeeded: true,
      responses: [{ response_range: { kvs: [{ key: Buffer.from('key'), value: Buffer.from('value') }] } }],
    });
    for (let length = 1; length < message.length; length++) {
      const cut = message.subarray(0, length);
      let referenceThrew = false;
      try {
        reference.txn(cut);
      } catch {
        referenceThrew = true;
      }
      if (referenceThrew) expect(() => decodeTxnResponse(cut)).toThrow(RangeError);
      else expect(decodeTxnResponse(cut)).toEqual(reference.txn(cut));
    }
  });
});
