/**
 * The etcd client's own codec for its hot calls: the commits and snapshot reads (`KV/Txn`), reads
 * (`KV/Range`) and watches (`Watch/Watch`) encode their requests with request-encoders.ts and decode
 * their answers with response-decoders.ts. Both give what etcd3's protobuf loader gives (the same
 * bytes, the same objects), without its intermediate message objects and `Long`s: in a profiled
 * in-process run that loader was ~15% of the bridge thread (docs/performance.md).
 *
 * Installed as the gRPC client option `callInvocationTransformer` (grpc-js' hook for a call's
 * method definition), so etcd3's pool, retries, auth and error handling stay as they are, and every
 * other method keeps etcd3's codec.
 */
import type { CallInvocationTransformer, CallProperties } from '@grpc/grpc-js';
import { encodeOr, encodeRangeRequest, encodeTxnRequest } from './request-encoders.js';
import { decodeRangeResponse, decodeTxnResponse, decodeWatchResponse } from './response-decoders.js';

type Encode = (request: unknown) => Buffer;
type Decode = (message: Buffer) => unknown;

/** The methods whose requests are encoded here, by path. */
export const LEAN_ENCODERS: ReadonlyMap<string, Encode> = new Map<string, Encode>([
  ['/etcdserverpb.KV/Txn', encodeTxnRequest],
  ['/etcdserverpb.KV/Range', encodeRangeRequest],
]);

/** The methods whose answers are decoded here, by path. */
export const LEAN_DECODERS: ReadonlyMap<string, Decode> = new Map<string, Decode>([
  ['/etcdserverpb.KV/Txn', decodeTxnResponse],
  ['/etcdserverpb.KV/Range', decodeRangeResponse],
  ['/etcdserverpb.Watch/Watch', decodeWatchResponse],
]);

// One serializer per etcd3 serializer it falls back to (there is one of those per method).
const serializers = new WeakMap<Encode, Encode>();

function serializerFor(encode: Encode, fallback: Encode): Encode {
  let serializer = serializers.get(fallback);
  if (serializer === undefined) {
    serializer = encodeOr(encode, fallback);
    serializers.set(fallback, serializer);
  }
  return serializer;
}

/** The grpc-js client option; give it as `grpcOptions.callInvocationTransformer` of an etcd3 client. */
export const leanCodec: CallInvocationTransformer = <Req, Res>(call: CallProperties<Req, Res>) => {
  // grpc-js makes the method definition afresh for every call (client.ts, make*Request), so it is
  // this call's own to change.
  const method = call.methodDefinition;
  const encode = LEAN_ENCODERS.get(method.path);
  if (encode !== undefined)
    method.requestSerialize = serializerFor(encode, method.requestSerialize as Encode);
  const decode = LEAN_DECODERS.get(method.path);
  if (decode !== undefined) method.responseDeserialize = decode as (message: Buffer) => Res;
  return call;
};
