/**
 * The etcd client the bridge and its CLI use: endpoints, TLS and auth from the etcd part of the
 * configuration. `createEtcdClient` returns a `BridgeEtcd`: an ordinary `Etcd3` for unary calls
 * (etcd3's pool spreads them over the endpoints and retries on another one) that also carries one
 * stream connection per endpoint (`endpoints`), for the watches and the leader's lease keep-alive,
 * which must choose their member themselves.
 */
import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import { ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import { Etcd3, type IOptions, isRecoverableError } from 'etcd3';
import { ConfigError } from '../errors.js';
import { classify, isPressure } from '../failure/classify.js';
import { EndpointStreams } from './endpoint-streams.js';
import { leanCodec } from './lean-codec.js';
import { type EtcdConnectionConfig, readTlsMaterial } from './tls-material.js';

// The diagnosis lives in its own module; re-exported for the commands that import it from here.
export { explainEtcdFailure } from './tls-diagnosis.js';
export type { EtcdConnectionConfig } from './tls-material.js';

/**
 * gRPC keepalive: a ping every 10 s, 5 s to answer. etcd's `--grpc-keepalive-min-time` is 5 s and
 * its gRPC server counts a ping that arrives sooner than that after the previous one as a strike
 * (three strikes: GOAWAY "too_many_pings"). A client ping period of exactly 5 s leaves no margin for
 * a ping delayed in flight followed by one on time, so the period is twice the minimum. A dead
 * connection is still noticed within 15 s by gRPC, and much sooner by the bridge's own stream checks
 * (the watch's progress probe, the keep-alive's answer deadline).
 */
export const GRPC_KEEPALIVE = { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5_000 };

/**
 * The largest answer the bridge takes from etcd. gRPC's default, 4 MiB, is far under what etcd
 * sends: a resync page (500 keys) or a snapshot read (128 keys) of records over ~8 or ~32 KB each
 * went over it, and "Received message larger than max" (which is also how etcd refuses a request
 * over its size limit) made a resync retry its page forever and a read dead-letter good records.
 * etcd holds each value under its --max-request-bytes (1.5 MiB by default), so the pages stay far
 * under this.
 */
export const MAX_RECEIVE_BYTES = 256 * 1024 * 1024;

/**
 * gRPC metadata `hasleader: true` on every call (etcd's `rpctypes.MetadataRequireLeaderKey`, what the
 * Go client's `WithRequireLeader` sets). A member that has lost its raft leader then refuses the call
 * at once with "etcdserver: no leader" (UNAVAILABLE, so etcd3's pool retries on another endpoint)
 * instead of holding it until its 7 s request timeout, and it cancels such a stream after three
 * election timeouts without a leader (etcd's `monitorLeader` in v3rpc/interceptor.go), which is how a
 * watch or keep-alive on a member cut off from its peers finds out.
 */
export const requireLeader: Interceptor = (options, nextCall) =>
  new InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      metadata.set('hasleader', 'true');
      next(metadata, listener);
    },
  });

/** The etcd3 options for these endpoints (all of them, or one for a per-endpoint stream client). */
export function etcdClientOptions(config: EtcdConnectionConfig): IOptions {
  const options: IOptions = {
    hosts: [...config.endpoints],
    // A unary call against an etcd that is gone must fail (and be retried) rather than hang.
    defaultCallOptions: (context) =>
      context.isStream ? {} : { deadline: Date.now() + config.callTimeoutMs },
    // etcd3's default breaker refuses every call for 5 s after three failures, even once etcd is
    // back. The bridge retries on its own schedule, so the breaker only needs to stop a tight loop.
    // etcd refusing writes for pressure (out of space, too many requests) is no broken host: the
    // reads that still work must not be refused for it. Nor is a request etcd refuses as such (one
    // over its size limit: terminal; etcd3 sends it three times before it gives up): tripping the
    // breaker for it would refuse the calls after it too — the committer's one-by-one retry that
    // isolates the record etcd refuses would meet an open breaker again and again.
    faultHandling: {
      host: () =>
        circuitBreaker(
          handleWhen((error) => isRecoverableError(error) && tripsBreaker(classify(error))),
          {
            halfOpenAfter: 200,
            breaker: new ConsecutiveBreaker(3),
          },
        ),
    },
    // leanCodec: the hot calls (commits, snapshot reads, watches) encoded and decoded by the bridge's
    // own codec (lean-codec.ts), with the bytes and objects etcd3's codec gives.
    grpcOptions: {
      ...GRPC_KEEPALIVE,
      'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
      interceptors: [requireLeader],
      callInvocationTransformer: leanCodec,
    },
  };
  const { ca, cert, key } = readTlsMaterial(config);
  if (ca || cert || key) {
    if (config.endpoints.some((url) => url.startsWith('http://'))) {
      throw new ConfigError('etcd.endpoints: TLS material is set but an endpoint is http://; use https://');
    }
    options.credentials = {
      rootCertificate: ca ?? Buffer.alloc(0),
      ...(cert ? { certChain: cert } : {}),
      ...(key ? { privateKey: key } : {}),
    };
  }
  if (config.username) options.auth = { username: config.username, password: config.password ?? '' };
  return options;
}

/** An Etcd3 that also holds one stream connection per endpoint; closing it closes both. */
export class BridgeEtcd extends Etcd3 {
  readonly endpoints: EndpointStreams;

  constructor(config: EtcdConnectionConfig) {
    const options = etcdClientOptions(config);
    super(options);
    this.endpoints = new EndpointStreams(options);
  }

  override close(): void {
    super.close();
    this.endpoints.close();
  }
}

export function createEtcdClient(config: EtcdConnectionConfig): BridgeEtcd {
  return new BridgeEtcd(config);
}

/** A failure that says the host is unwell: etcd's retryable faults, not pressure, not a refused request. */
function tripsBreaker(classification: ReturnType<typeof classify>): boolean {
  return classification.verdict === 'retry' && !isPressure(classification);
}
