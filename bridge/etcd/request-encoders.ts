/**
 * Encoders for the requests of `KV/Txn` and `KV/Range` (the commits and the snapshot reads): the
 * same bytes etcd3's own serializer writes (@grpc/proto-loader: protobufjs' `fromObject`, then
 * `encode`), proven against it in test/unit/bridge/etcd/request-encoders.test.ts, without the
 * message instances and the `Long` of every int64 `fromObject` makes first. Written with protobufjs'
 * own Writer, so the wire format is the library's.
 *
 * A request in a form these encoders do not take (bytes as a base64 string, an int64 as a `Long` or
 * beyond 2^53, a message that is not a plain object) is not guessed at: `encodeOr` hands it to
 * etcd3's serializer, which gives the same bytes or the same error as before.
 */
import protobuf from 'protobufjs/minimal.js';

type Writer = protobuf.Writer;

/** Thrown inside, caught by `encodeOr`: this request is for etcd3's serializer. */
const NOT_MINE: unique symbol = Symbol('not-mine');

/** A plain object, not an array: what `fromObject` reads fields from. */
function fieldsOf(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw NOT_MINE;
  return value as Record<string, unknown>;
}

/**
 * An int64 as `Long.fromValue` reads it, where that is exact as a JavaScript number: an integer
 * number, or a string that is such a number's own decimal form ("1e3" and "0x10" are numbers to
 * `Number` but not to `Long.fromString`).
 */
function safeInteger(value: unknown): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return value;
  } else if (typeof value === 'string') {
    const number = Number(value);
    if (Number.isSafeInteger(number) && String(number) === value) return number;
  }
  throw NOT_MINE;
}

// One writer per protobuf type. Each field as protobufjs' generated code treats it: `fromObject`
// reads it when it is not null or undefined, and `encode` then writes it, default value or not, in
// field-number order. The tag is field number << 3 | wire type.

function bytesField(w: Writer, tag: number, v: unknown): void {
  if (v == null) return;
  if (!(v instanceof Uint8Array)) throw NOT_MINE; // a base64 string, an array: etcd3's
  w.uint32(tag).bytes(v);
}

function int64Field(w: Writer, tag: number, v: unknown): void {
  if (v != null) w.uint32(tag).int64(safeInteger(v));
}

function boolField(w: Writer, tag: number, v: unknown): void {
  if (v != null) w.uint32(tag).bool(Boolean(v));
}

/** A known name, or any number as it is; anything else fromObject leaves unset. */
function enumField(w: Writer, tag: number, v: unknown, names: Readonly<Record<string, number>>): void {
  const number =
    typeof v === 'number' ? v : typeof v === 'string' && Object.hasOwn(names, v) ? names[v] : undefined;
  if (number !== undefined) w.uint32(tag).int32(number);
}

function messageField(
  w: Writer,
  tag: number,
  v: unknown,
  write: (w: Writer, m: Record<string, unknown>) => void,
): void {
  if (v == null) return;
  w.uint32(tag).fork();
  write(w, fieldsOf(v));
  w.ldelim();
}

/** fromObject: a falsy value is no list; anything truthy must be an array of objects. */
function repeatedField(
  w: Writer,
  tag: number,
  v: unknown,
  write: (w: Writer, m: Record<string, unknown>) => void,
): void {
  if (!v) return;
  if (!Array.isArray(v)) throw NOT_MINE;
  for (const element of v) messageField(w, tag, fieldsOf(element), write);
}

const SORT_ORDER = { None: 0, Ascend: 1, Descend: 2 };
const SORT_TARGET = { Key: 0, Version: 1, Create: 2, Mod: 3, Value: 4 };
const COMPARE_RESULT = { Equal: 0, Greater: 1, Less: 2, NotEqual: 3 };
const COMPARE_TARGET = { Version: 0, Create: 1, Mod: 2, Value: 3, Lease: 4 };

function writeRangeRequest(w: Writer, m: Record<string, unknown>): void {
  bytesField(w, 10, m.key);
  bytesField(w, 18, m.range_end);
  int64Field(w, 24, m.limit);
  int64Field(w, 32, m.revision);
  enumField(w, 40, m.sort_order, SORT_ORDER);
  enumField(w, 48, m.sort_target, SORT_TARGET);
  boolField(w, 56, m.serializable);
  boolField(w, 64, m.keys_only);
  boolField(w, 72, m.count_only);
  int64Field(w, 80, m.min_mod_revision);
  int64Field(w, 88, m.max_mod_revision);
  int64Field(w, 96, m.min_create_revision);
  int64Field(w, 104, m.max_create_revision);
}

function writePutRequest(w: Writer, m: Record<string, unknown>): void {
  bytesField(w, 10, m.key);
  bytesField(w, 18, m.value);
  int64Field(w, 24, m.lease);
  boolField(w, 32, m.prev_kv);
  boolField(w, 40, m.ignore_value);
  boolField(w, 48, m.ignore_lease);
}

function writeDeleteRangeRequest(w: Writer, m: Record<string, unknown>): void {
  bytesField(w, 10, m.key);
  bytesField(w, 18, m.range_end);
  boolField(w, 24, m.prev_kv);
}

function writeCompare(w: Writer, m: Record<string, unknown>): void {
  enumField(w, 8, m.result, COMPARE_RESULT);
  enumField(w, 16, m.target, COMPARE_TARGET);
  bytesField(w, 26, m.key);
  int64Field(w, 32, m.version);
  int64Field(w, 40, m.create_revision);
  int64Field(w, 48, m.mod_revision);
  bytesField(w, 58, m.value);
  int64Field(w, 64, m.lease);
  bytesField(w, 514, m.range_end); // field 64
}

/** A oneof: fromObject keeps every member given, and encode writes each. */
function writeRequestOp(w: Writer, m: Record<string, unknown>): void {
  messageField(w, 10, m.request_range, writeRangeRequest);
  messageField(w, 18, m.request_put, writePutRequest);
  messageField(w, 26, m.request_delete_range, writeDeleteRangeRequest);
  messageField(w, 34, m.request_txn, writeTxnRequest);
}

function writeTxnRequest(w: Writer, m: Record<string, unknown>): void {
  repeatedField(w, 10, m.compare, writeCompare);
  repeatedField(w, 18, m.success, writeRequestOp);
  repeatedField(w, 26, m.failure, writeRequestOp);
}

function encoder(write: (w: Writer, m: Record<string, unknown>) => void): (request: unknown) => Buffer {
  return (request) => {
    const writer = protobuf.Writer.create();
    write(writer, fieldsOf(request));
    return writer.finish() as Buffer;
  };
}

export const encodeTxnRequest = encoder(writeTxnRequest);
export const encodeRangeRequest = encoder(writeRangeRequest);

/**
 * `encode(request)`, or `fallback(request)` (etcd3's serializer) for a request in a form `encode`
 * does not take: the same bytes either way, or the error etcd3 gives.
 */
export function encodeOr(
  encode: (request: unknown) => Buffer,
  fallback: (request: unknown) => Buffer,
): (request: unknown) => Buffer {
  return (request) => {
    try {
      return encode(request);
    } catch (error) {
      if (error === NOT_MINE) return fallback(request);
      throw error;
    }
  };
}
