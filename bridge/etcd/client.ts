/** The etcd client the bridge and its CLI use: endpoints, TLS and auth from the config. */
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import type { BridgeConfig } from '../config.js';
import { ConfigError, errorMessage } from '../errors.js';

export function createEtcdClient(config: BridgeConfig['etcd']): Etcd3 {
  const options: IOptions = {
    hosts: config.endpoints,
    // A unary call against an etcd that is gone must fail (and be retried) rather than hang.
    defaultCallOptions: (context) =>
      context.isStream ? {} : { deadline: Date.now() + config.callTimeoutMs },
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
