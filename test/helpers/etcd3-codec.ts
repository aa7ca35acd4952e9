/**
 * etcd3's own protobuf codec, as the oracle for the bridge's (bridge/etcd/lean-codec.ts): the method
 * definitions @grpc/proto-loader makes from etcd3's .proto files with etcd3's options (what
 * etcd3's connection-pool.ts loads), and a protobufjs root of the same files to write test messages.
 */
import { createRequire } from 'node:module';
import { loadSync } from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const RPC_PROTO = require.resolve('etcd3/proto/rpc.proto');

const definition = loadSync(RPC_PROTO, {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});

interface MethodCodec {
  requestSerialize(request: unknown): Buffer;
  responseDeserialize(message: Buffer): unknown;
}

/** etcd3's serializer and deserializer of `service`'s `method` (e.g. `KV`, `Txn`). */
export function etcd3Method(service: string, method: string): MethodCodec {
  const codec = (definition[`etcdserverpb.${service}`] as unknown as Record<string, MethodCodec | undefined>)[
    method
  ];
  if (codec === undefined) throw new Error(`no ${service}/${method} in etcd3's rpc.proto`);
  return codec;
}

const root = new protobuf.Root().loadSync(RPC_PROTO, { keepCase: true });

/** `plain` (protobufjs' fromObject form) encoded as the message type `typeName`. */
export function encodeMessage(typeName: string, plain: object): Buffer {
  const type = root.lookupType(typeName);
  const bytes = type.encode(type.fromObject(plain)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// protobufjs' own Long (the `long` package; its typing here is only a constructor).
export const Long = protobuf.util.Long as unknown as {
  fromString(value: string, unsigned: boolean): protobuf.Long;
};
