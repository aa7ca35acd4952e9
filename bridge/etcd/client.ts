/** The etcd client the bridge and its CLI use: endpoints, TLS and auth from the config. */
import { readFileSync } from 'node:fs';
import { ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import { Etcd3, type IOptions, isRecoverableError } from 'etcd3';
import type { BridgeConfig } from '../config.js';
import { ConfigError, errorMessage } from '../errors.js';

export function createEtcdClient(config: BridgeConfig['etcd']): Etcd3 {
  const options: IOptions = {
    hosts: config.endpoints,
    // A unary call against an etcd that is gone must fail (and be retried) rather than hang.
    defaultCallOptions: (context) =>
      context.isStream ? {} : { deadline: Date.now() + config.callTimeoutMs },
    // etcd3's default breaker refuses every call for 5 s after three failures, even once etcd is
    // back. The bridge retries on its own schedule, so the breaker only needs to stop a tight loop.
    faultHandling: {
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), {
          halfOpenAfter: 200,
          breaker: new ConsecutiveBreaker(3),
        }),
    },
    // Notice a silent network cut (no RST): etcd permits a keepalive ping every 5 s by default.
    grpcOptions: { 'grpc.keepalive_time_ms': 5_000, 'grpc.keepalive_timeout_ms': 3_000 },
  };
  const ca = pem(config.caPem, config.caFile, 'etcd.caFile');
  const cert = pem(config.certPem, config.certFile, 'etcd.certFile');
  const key = pem(config.keyPem, config.keyFile, 'etcd.keyFile');
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
  return new Etcd3(options);
}

function pem(text: string | undefined, file: string | undefined, field: string): Buffer | undefined {
  if (text) return Buffer.from(text, 'utf8');
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError(`${field} ${file}: ${errorMessage(error)}`);
  }
}
