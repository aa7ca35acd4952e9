/**
 * The hand-written request encoders against etcd3's own serializer (@grpc/proto-loader over
 * etcd3's .proto files): for any TxnRequest or RangeRequest in the forms the bridge and etcd3 send
 * (Buffers, int64 as numbers or decimal strings, enums by name or number), the same bytes; for a
 * request in any other form (base64 strings, Longs, int64 past 2^53, malformed lists), the same
 * bytes or the same error through the fallback to etcd3's serializer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LEAN_ENCODERS, leanCodec } from '../../../../bridge/etcd/lean-codec.js';
import { encodeOr, encodeRangeRequest, encodeTxnRequest } from '../../../../bridge/etcd/request-encoders.js';
import { etcd3Method, Long } from '../../../helpers/etcd3-codec.js';

const etcd3Txn = (request: unknown) => etcd3Method('KV', 'Txn').requestSerialize(request);
const etcd3Range = (request: unknown) => etcd3Method('KV', 'Range').requestSerialize(request);

/** What `encode(request)` gives: its bytes, or the message of what it threw. */
function outcome(
  encode: (request: unknown) => Buffer,
  request: unknown,
): { bytes: string } | { error: string } {
  try {
    return { bytes: encode(request).toString('hex') };
  } catch (error) {
    return { error: String(error) };
  }
}

// The forms the encoders take themselves.
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 24 }).map((array) => Buffer.from(array)),
  fc.uint8Array({ maxLength: 8 }),
);
const int64 = fc.oneof(
  fc.constantFrom(0, 1, -1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
  fc.integer({ min: 0, max: 10_000_000 }),
  fc.maxSafeInteger(),
  fc.maxSafeInteger().map(String),
);
const bool = fc.oneof(fc.boolean(), fc.constantFrom(0, 1, 'yes', ''));
const enumOf = (...names: string[]) =>
  fc.oneof(
    fc.constantFrom(...names),
    fc.integer({ min: -3, max: 9 }),
    fc.constantFrom('nope', 'toString', '0'),
  );

const cleanRange = fc.record(
  {
    key: bytes,
    range_end: bytes,
    limit: int64,
    revision: int64,
    sort_order: enumOf('None', 'Ascend', 'Descend'),
    sort_target: enumOf('Key', 'Version', 'Create', 'Mod', 'Value'),
    serializable: bool,
    keys_only: bool,
    count_only: bool,
    min_mod_revision: int64,
    max_mod_revision: int64,
    min_create_revision: int64,
    max_create_revision: int64,
    unknown_field: fc.string(),
  },
  { requiredKeys: [] },
);
const cleanPut = fc.record(
  { key: bytes, value: bytes, lease: int64, prev_kv: bool, ignore_value: bool, ignore_lease: bool },
  { requiredKeys: [] },
);
const cleanDelete = fc.record({ key: bytes, range_end: bytes, prev_kv: bool }, { requiredKeys: [] });
const cleanCompare = fc.record(
  {
    result: enumOf('Equal', 'Greater', 'Less', 'NotEqual'),
    target: enumOf('Version', 'Create', 'Mod', 'Value', 'Lease'),
    key: bytes,
    version: int64,
    create_revision: int64,
    mod_revision: int64,
    value: bytes,
    lease: int64,
    range_end: bytes,
  },
  { requiredKeys: [] },
);
const { cleanTxn } = fc.letrec((tie) => ({
  cleanTxn: fc.record(
    {
      compare: fc.array(cleanCompare, { maxLength: 4 }),
      success: fc.array(tie('op'), { maxLength: 4 }),
      failure: fc.array(tie('op'), { maxLength: 2 }),
    },
    { requiredKeys: [] },
  ),
  op: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant({}),
    cleanRange.map((request_range) => ({ request_range })),
    cleanPut.map((request_put) => ({ request_put })),
    cleanDelete.map((request_delete_range) => ({ request_delete_range })),
    tie('cleanTxn').map((request_txn) => ({ request_txn })),
    // Two members of the oneof: fromObject keeps both and encode writes both.
    fc.record({ request_put: cleanPut, request_delete_range: cleanDelete }),
  ),
}));

// Forms the encoders leave to etcd3's serializer, mixed into otherwise clean requests.
const odd = fc.oneof(
  fc.constant('aGVsbG8='), // bytes as base64
  fc.constant('not base64!'),
  fc.bigInt(2n ** 53n, 2n ** 63n - 1n).map(String), // int64 past 2^53
  fc.constantFrom('007', '-0', '1e3', '0x10', ' 5'), // decimal for Number, not for Long.fromString
  fc.constant(1.5),
  fc.constant(Long.fromString('12345678901234567', false)),
  fc.constant(null),
  fc.constant(false),
  fc.constant(0),
  fc.constant([1, 2]),
  fc.constant('text'),
  fc.constant({}),
);
const withOdd = <T extends object>(clean: fc.Arbitrary<T>, names: string[]) =>
  fc
    .tuple(clean, fc.constantFrom(...names), odd)
    .map(([request, name, value]) => ({ ...request, [name]: value }) as Record<string, unknown>);
const oddTxn = fc.oneof(
  withOdd(cleanTxn, ['compare', 'success', 'failure']),
  fc
    .tuple(
      cleanTxn,
      withOdd(cleanCompare, ['key', 'mod_revision', 'version', 'result', 'value', 'range_end']),
    )
    .map(([txn, compare]) => ({ ...txn, compare: [compare, ...(txn.compare ?? [])] })),
  fc
    .tuple(cleanTxn, withOdd(cleanPut, ['key', 'value', 'lease']))
    .map(([txn, put]) => ({ ...txn, success: [{ request_put: put }, ...(txn.success ?? [])] })),
  fc.tuple(cleanTxn, odd).map(([txn, element]) => ({ ...txn, success: [element] })),
  fc.tuple(cleanTxn, odd).map(([txn, element]) => ({ ...txn, compare: [element] })),
);
const oddRange = withOdd(cleanRange, ['key', 'range_end', 'limit', 'revision', 'sort_order', 'serializable']);

describe('request encoders', () => {
  it('write the bytes etcd3 writes for any TxnRequest in the forms they take', () => {
    fc.assert(
      fc.property(cleanTxn, (request) => {
        expect(encodeTxnRequest(request).toString('hex')).toBe(etcd3Txn(request).toString('hex'));
      }),
      { numRuns: 500 },
    );
  });

  it('write the bytes etcd3 writes for any RangeRequest in the forms they take', () => {
    fc.assert(
      fc.property(cleanRange, (request) => {
        expect(encodeRangeRequest(request).toString('hex')).toBe(etcd3Range(request).toString('hex'));
      }),
      { numRuns: 500 },
    );
  });

  it('leave any other form to etcd3: the same bytes or the same error', () => {
    const txn = encodeOr(encodeTxnRequest, etcd3Txn);
    const range = encodeOr(encodeRangeRequest, etcd3Range);
    fc.assert(
      fc.property(oddTxn, (request) => {
        expect(outcome(txn, request)).toEqual(outcome(etcd3Txn, request));
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(oddRange, (request) => {
        expect(outcome(range, request)).toEqual(outcome(etcd3Range, request));
      }),
      { numRuns: 300 },
    );
    for (const request of [null, undefined, 7, 'text', [], [{}]]) {
      expect(outcome(txn, request)).toEqual(outcome(etcd3Txn, request));
    }
  });

  it('are installed for KV/Txn and KV/Range only, with etcd3 serializer behind them', () => {
    const call = (path: string) => {
      const requestSerialize = (request: unknown) => Buffer.from(JSON.stringify(request));
      return {
        metadata: undefined,
        call: undefined,
        channel: undefined,
        callOptions: {},
        methodDefinition: {
          path,
          requestStream: false,
          responseStream: false,
          requestSerialize,
          responseDeserialize: (message: Buffer) => message,
        },
      } as unknown as Parameters<typeof leanCodec>[0];
    };
    expect([...LEAN_ENCODERS.keys()]).toEqual(['/etcdserverpb.KV/Txn', '/etcdserverpb.KV/Range']);
    const txn = leanCodec(call('/etcdserverpb.KV/Txn')).methodDefinition;
    expect(txn.requestSerialize({ compare: [{ key: Buffer.from('k'), mod_revision: '5' }] })).toEqual(
      etcd3Txn({ compare: [{ key: Buffer.from('k'), mod_revision: '5' }] }),
    );
    // A form left to the serializer it replaced: here the stand-in above.
    expect(txn.requestSerialize({ compare: 'odd' }).toString()).toBe('{"compare":"odd"}');
    const put = call('/etcdserverpb.KV/Put');
    const { requestSerialize, responseDeserialize } = put.methodDefinition;
    const unchanged = leanCodec(put).methodDefinition;
    expect(unchanged.requestSerialize).toBe(requestSerialize);
    expect(unchanged.responseDeserialize).toBe(responseDeserialize);
  });
});
