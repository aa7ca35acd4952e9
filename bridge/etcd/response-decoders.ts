/**
 * Decoders for the etcd answers the bridge reads on its hot path: `KV/Txn` (the commits and the
 * snapshot reads), `KV/Range` and `Watch/Watch`. Each gives exactly the object etcd3's own decoder
 * gives (@grpc/proto-loader with `longs: String, enums: String, defaults: true, oneofs: true`: every
 * int64 a decimal string, every absent field its default, `bytes` a Buffer view of the message),
 * proven against that decoder in test/unit/bridge/etcd/response-decoders.test.ts.
 *
 * Why by hand: etcd3's decoder is protobufjs' `decode` then `toObject`, two passes, with every int64
 * going through a `Long` and `Long.toString`. In a profiled in-process run that was ~13% of the
 * bridge thread (docs/performance.md). Here it is one pass, and an int64 is read as two 32-bit halves
 * and turned into a string by the JavaScript number (or, above 2^53, the BigInt) of the value.
 *
 * Installed by lean-codec.ts.
 */

/** A protobuf wire reader over one message (the Buffer gRPC hands the deserializer). */
class Reader {
  pos = 0;
  // The two halves of the last varint64 read (readVarint64), to spare an object per value.
  lo = 0;
  hi = 0;

  /** Where the message being read ends (an embedded one's end while it is read). */
  end: number;

  constructor(readonly buf: Buffer) {
    this.end = buf.length;
  }

  private truncated(): never {
    throw new RangeError(`protobuf message truncated at byte ${this.pos} of ${this.end}`);
  }

  /** A varint of at most 32 bits (tags, lengths; wider ones are cut to their low 32 bits, as protobufjs does). */
  uint32(): number {
    const { buf, end } = this;
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= end) this.truncated();
      const byte = buf[this.pos++] as number;
      value |= (byte & 0x7f) << shift;
      if (byte < 0x80) return value >>> 0;
    }
    // Bytes 6-10 of a 64-bit varint: their bits are above 32 and dropped.
    for (let i = 0; i < 5; i++) {
      if (this.pos >= end) this.truncated();
      if ((buf[this.pos++] as number) < 0x80) return value >>> 0;
    }
    throw new RangeError(`protobuf varint longer than 10 bytes at byte ${this.pos}`);
  }

  /** A varint of up to 64 bits into `lo` and `hi`. */
  readVarint64(): void {
    const { buf, end } = this;
    let lo = 0;
    let hi = 0;
    let byte = 0;
    let i = 0;
    // Bits 0-27 in the first four bytes.
    for (; i < 4; i++) {
      if (this.pos >= end) this.truncated();
      byte = buf[this.pos++] as number;
      lo = (lo | ((byte & 0x7f) << (i * 7))) >>> 0;
      if (byte < 0x80) {
        this.lo = lo;
        this.hi = 0;
        return;
      }
    }
    // The fifth byte: bits 28-31 to lo, 32-34 to hi.
    if (this.pos >= end) this.truncated();
    byte = buf[this.pos++] as number;
    lo = (lo | ((byte & 0x7f) << 28)) >>> 0;
    hi = (byte & 0x7f) >> 4;
    if (byte >= 0x80) {
      for (i = 0; i < 5; i++) {
        if (this.pos >= end) this.truncated();
        byte = buf[this.pos++] as number;
        hi = (hi | ((byte & 0x7f) << (i * 7 + 3))) >>> 0;
        if (byte < 0x80) break;
      }
      if (byte >= 0x80) throw new RangeError(`protobuf varint longer than 10 bytes at byte ${this.pos}`);
    }
    this.lo = lo;
    this.hi = hi >>> 0;
  }

  int64(): string {
    this.readVarint64();
    return int64String(this.lo, this.hi, true);
  }

  uint64(): string {
    this.readVarint64();
    return int64String(this.lo, this.hi, false);
  }

  bool(): boolean {
    this.readVarint64();
    return this.lo !== 0 || this.hi !== 0;
  }

  /** The end of a length-delimited field that starts here. */
  delimitedEnd(): number {
    const length = this.uint32();
    const end = this.pos + length;
    if (end > this.end) this.truncated();
    return end;
  }

  /** A view of the bytes, as protobufjs gives them (an empty field: a Buffer of its own). */
  bytes(): Buffer {
    const end = this.delimitedEnd();
    const start = this.pos;
    this.pos = end;
    return start === end ? Buffer.alloc(0) : this.buf.subarray(start, end);
  }

  string(): string {
    const end = this.delimitedEnd();
    const start = this.pos;
    this.pos = end;
    return this.buf.toString('utf8', start, end);
  }

  /** Steps over a field this decoder does not read (a newer etcd's, or one the proto has but the bridge never sees). */
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.readVarint64();
        return;
      case 1:
        this.advance(8);
        return;
      case 2:
        this.pos = this.delimitedEnd();
        return;
      case 3:
        for (;;) {
          const tag = this.uint32();
          if ((tag & 7) === 4) return;
          this.skip(tag & 7);
        }
      case 5:
        this.advance(4);
        return;
      default:
        throw new RangeError(`protobuf wire type ${wireType} at byte ${this.pos}`);
    }
  }

  private advance(bytes: number): void {
    if (this.pos + bytes > this.end) this.truncated();
    this.pos += bytes;
  }

  /** Runs `body` over the embedded message that starts here, then continues after it. */
  embedded<T>(body: (reader: Reader) => T): T {
    const end = this.delimitedEnd();
    const outer = this.end;
    this.end = end;
    const value = body(this);
    this.pos = end;
    this.end = outer;
    return value;
  }
}

// The values that needed a BigInt lately: a header's cluster and member IDs are above 2^53 and the
// same in every answer, so a few slots (the cluster and up to three members, read in turn within
// each header) spare a BigInt per ID. Slots are reused round robin.
const CACHE_SLOTS = 4;
const cachedLo = new Array<number>(CACHE_SLOTS).fill(-1);
const cachedHi = new Array<number>(CACHE_SLOTS).fill(-1);
const cachedSigned = new Array<boolean>(CACHE_SLOTS).fill(false);
const cachedString = new Array<string>(CACHE_SLOTS).fill('');
let nextSlot = 0;

/** The decimal string of the 64-bit value hi:lo, as `Long.toString` gives it (signed for int64). */
function int64String(lo: number, hi: number, signed: boolean): string {
  if (hi === 0) return String(lo);
  // Below 2^53 (and not negative): exact as a number.
  if (hi < 0x200000) return String(hi * 0x100000000 + lo);
  for (let slot = 0; slot < CACHE_SLOTS; slot++)
    if (cachedLo[slot] === lo && cachedHi[slot] === hi && cachedSigned[slot] === signed)
      return cachedString[slot] as string;
  const unsigned = (BigInt(hi) << 32n) | BigInt(lo);
  const text = (signed ? BigInt.asIntN(64, unsigned) : unsigned).toString();
  const slot = nextSlot;
  nextSlot = (nextSlot + 1) % CACHE_SLOTS;
  cachedLo[slot] = lo;
  cachedHi[slot] = hi;
  cachedSigned[slot] = signed;
  cachedString[slot] = text;
  return text;
}

// The answers' shapes: those of etcd3's rpc.ts (IResponseHeader, IKeyValue, ...), as plain objects.

export interface DecodedHeader {
  cluster_id: string;
  member_id: string;
  revision: string;
  raft_term: string;
}

export interface DecodedKeyValue {
  key: Buffer;
  create_revision: string;
  mod_revision: string;
  version: string;
  value: Buffer;
  lease: string;
}

function header(r: Reader): DecodedHeader {
  const h: DecodedHeader = { cluster_id: '0', member_id: '0', revision: '0', raft_term: '0' };
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 8:
        h.cluster_id = r.uint64();
        break;
      case 16:
        h.member_id = r.uint64();
        break;
      case 24:
        h.revision = r.int64();
        break;
      case 32:
        h.raft_term = r.uint64();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return h;
}

function keyValue(r: Reader): DecodedKeyValue {
  let key: Buffer | undefined;
  let value: Buffer | undefined;
  let create_revision = '0';
  let mod_revision = '0';
  let version = '0';
  let lease = '0';
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10:
        key = r.bytes();
        break;
      case 16:
        create_revision = r.int64();
        break;
      case 24:
        mod_revision = r.int64();
        break;
      case 32:
        version = r.int64();
        break;
      case 42:
        value = r.bytes();
        break;
      case 48:
        lease = r.int64();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return {
    key: key ?? Buffer.alloc(0),
    create_revision,
    mod_revision,
    version,
    value: value ?? Buffer.alloc(0),
    lease,
  };
}

const EVENT_TYPES = ['Put', 'Delete'] as const;

function event(r: Reader) {
  let type: string | number = 'Put';
  let kv: DecodedKeyValue | null = null;
  let prev_kv: DecodedKeyValue | null = null;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 8: {
        // An enum is an int32: a negative one is sent as a 10-byte varint, its low half is the value.
        r.readVarint64();
        const number = r.lo | 0;
        type = EVENT_TYPES[number] ?? number;
        break;
      }
      case 18:
        kv = r.embedded(keyValue);
        break;
      case 26:
        prev_kv = r.embedded(keyValue);
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return { type, kv, prev_kv };
}

function rangeResponse(r: Reader) {
  const out = { header: null as DecodedHeader | null, kvs: [] as DecodedKeyValue[], more: false, count: '0' };
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10:
        out.header = r.embedded(header);
        break;
      case 18:
        out.kvs.push(r.embedded(keyValue));
        break;
      case 24:
        out.more = r.bool();
        break;
      case 32:
        out.count = r.int64();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

function putResponse(r: Reader) {
  const out = { header: null as DecodedHeader | null, prev_kv: null as DecodedKeyValue | null };
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10:
        out.header = r.embedded(header);
        break;
      case 18:
        out.prev_kv = r.embedded(keyValue);
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

function deleteRangeResponse(r: Reader) {
  const out = { header: null as DecodedHeader | null, deleted: '0', prev_kvs: [] as DecodedKeyValue[] };
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10:
        out.header = r.embedded(header);
        break;
      case 16:
        out.deleted = r.int64();
        break;
      case 26:
        out.prev_kvs.push(r.embedded(keyValue));
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

/**
 * A ResponseOp: the member of its oneof that came, and `response` naming it (proto-loader's
 * `oneofs`). Should an answer carry more than one, toObject keeps each, in the proto's order, and
 * `response` names the last of them: so does this.
 */
function responseOp(r: Reader): Record<string, unknown> {
  let range: object | undefined;
  let put: object | undefined;
  let deleteRange: object | undefined;
  let txn: object | undefined;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10:
        range = r.embedded(rangeResponse);
        break;
      case 18:
        put = r.embedded(putResponse);
        break;
      case 26:
        deleteRange = r.embedded(deleteRangeResponse);
        break;
      case 34:
        txn = r.embedded(txnResponse);
        break;
      default:
        r.skip(tag & 7);
    }
  }
  const out: Record<string, unknown> = {};
  if (range !== undefined) {
    out.response_range = range;
    out.response = 'response_range';
  }
  if (put !== undefined) {
    out.response_put = put;
    out.response = 'response_put';
  }
  if (deleteRange !== undefined) {
    out.response_delete_range = deleteRange;
    out.response = 'response_delete_range';
  }
  if (txn !== undefined) {
    out.response_txn = txn;
    out.response = 'response_txn';
  }
  return out;
}

function txnResponse(r: Reader) {
  const out = {
    header: null as DecodedHeader | null,
    succeeded: false,
    responses: [] as Record<string, unknown>[],
  };
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10:
        out.header = r.embedded(header);
        break;
      case 16:
        out.succeeded = r.bool();
        break;
      case 26:
        out.responses.push(r.embedded(responseOp));
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

function watchResponse(r: Reader) {
  const out = {
    header: null as DecodedHeader | null,
    watch_id: '0',
    created: false,
    canceled: false,
    compact_revision: '0',
    cancel_reason: '',
    fragment: false,
    events: [] as ReturnType<typeof event>[],
  };
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 10:
        out.header = r.embedded(header);
        break;
      case 16:
        out.watch_id = r.int64();
        break;
      case 24:
        out.created = r.bool();
        break;
      case 32:
        out.canceled = r.bool();
        break;
      case 40:
        out.compact_revision = r.int64();
        break;
      case 50:
        out.cancel_reason = r.string();
        break;
      case 56:
        out.fragment = r.bool();
        break;
      case 90:
        out.events.push(r.embedded(event));
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

function decoder<T>(body: (reader: Reader) => T): (message: Buffer) => T {
  return (message) => body(new Reader(message));
}

export const decodeTxnResponse = decoder(txnResponse);
export const decodeRangeResponse = decoder(rangeResponse);
export const decodeWatchResponse = decoder(watchResponse);
