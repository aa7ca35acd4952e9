/** The etcd part of the configuration the client needs, and reading its TLS material from PEM text or files. */
import { readFileSync } from 'node:fs';
import { ConfigError, errorMessage } from '../errors.js';

/**
 * What connecting to etcd needs: the `etcd` object of the bridge's configuration (structurally;
 * nothing here depends on the rest of the configuration).
 */
export interface EtcdConnectionConfig {
  readonly endpoints: readonly string[];
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** TLS: PEM text or a file path for each (PEM text wins when both are given). */
  readonly caPem?: string | undefined;
  readonly certPem?: string | undefined;
  readonly keyPem?: string | undefined;
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  /** Deadline of one unary call. */
  readonly callTimeoutMs: number;
}

export interface TlsMaterial {
  ca: Buffer | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
  /** The setting each came from, for messages (never the material itself). */
  caSetting: string | undefined;
  certSetting: string | undefined;
}

/** Reads the CA, certificate and key; a file that cannot be read is a ConfigError naming the field. */
export function readTlsMaterial(config: EtcdConnectionConfig): TlsMaterial {
  return {
    ca: pem(config.caPem, config.caFile, 'etcd.caFile'),
    cert: pem(config.certPem, config.certFile, 'etcd.certFile'),
    key: pem(config.keyPem, config.keyFile, 'etcd.keyFile'),
    caSetting: config.caPem ? 'etcd.caPem' : config.caFile ? 'etcd.caFile' : undefined,
    certSetting: config.certPem ? 'etcd.certPem' : config.certFile ? 'etcd.certFile' : undefined,
  };
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
