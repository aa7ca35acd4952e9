/**
 * What went wrong connecting to etcd, in words an operator can act on: gRPC reports every TLS
 * failure as "14 UNAVAILABLE: No connection established. Last error: null", so each endpoint is
 * probed with a TLS handshake of its own and what that handshake says is reported.
 */
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { EtcdAuthenticationFailedError, EtcdPermissionDeniedError, GRPCUnavailableError } from 'etcd3';
import { errorMessage } from '../errors.js';
import { type EtcdConnectionConfig, readTlsMaterial, type TlsMaterial } from './tls-material.js';

/**
 * What went wrong connecting to etcd, in words an operator can act on: `error` (as Bridge.start or a
 * command got it) followed by a diagnosis naming the setting at fault.
 *
 * Why: gRPC reports every TLS failure (a server certificate our CA did not sign, a client
 * certificate etcd refuses, plaintext against a TLS port) as "14 UNAVAILABLE: No connection
 * established. Last error: null", which names nothing. So on UNAVAILABLE each endpoint is probed
 * with a TLS handshake of its own, with the same CA, certificate and key, and what that handshake
 * says is reported. Never includes the password or key material, only setting names and the user.
 */
export async function explainEtcdFailure(config: EtcdConnectionConfig, error: unknown): Promise<string> {
  const message = errorMessage(error);
  const cause = rootCause(error);
  const who = config.username === undefined ? 'no etcd.username' : `user ${JSON.stringify(config.username)}`;
  if (cause instanceof EtcdAuthenticationFailedError) {
    return `${message} (authentication failed for ${who}: wrong etcd.username or etcd.password)`;
  }
  if (cause instanceof EtcdPermissionDeniedError || /user name is empty|user name not found/.test(message)) {
    return config.username === undefined
      ? `${message} (etcd requires authentication: set etcd.username and etcd.password)`
      : `${message} (permission denied for ${who}: its role must grant the pipeline's prefixes and /_etcd-bridge/)`;
  }
  if (!(cause instanceof GRPCUnavailableError)) return message;
  let material: TlsMaterial;
  try {
    material = readTlsMaterial(config);
  } catch (fileError) {
    return `${message} (${errorMessage(fileError)})`;
  }
  const findings = await Promise.all(config.endpoints.map((endpoint) => probeEndpoint(endpoint, material)));
  const found = findings.filter((f): f is Finding => f !== undefined).map((f) => f.text);
  return found.length === 0 ? message : `${message} (${found.join('; ')})`;
}

/**
 * Whether an UNAVAILABLE names a setting at fault (TLS on the wrong side, a CA or certificate etcd or
 * we refuse, material that cannot be read), as opposed to what may pass by itself: nothing accepting
 * connections yet, a name that does not resolve yet, a connection reset. Used to tell a start that
 * should wait for etcd from one that cannot succeed.
 */
export async function settingAtFault(config: EtcdConnectionConfig): Promise<string | undefined> {
  let material: TlsMaterial;
  try {
    material = readTlsMaterial(config);
  } catch (fileError) {
    return errorMessage(fileError);
  }
  const findings = await Promise.all(config.endpoints.map((endpoint) => probeEndpoint(endpoint, material)));
  return findings.find((f) => f !== undefined && !f.transient)?.text;
}

function rootCause(error: unknown): unknown {
  let current = error;
  for (let i = 0; i < 5 && current instanceof Error && current.cause !== undefined; i++)
    current = current.cause;
  return current;
}

const UNTRUSTED_SERVER = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
]);

interface Finding {
  text: string;
  /** Nothing listening, no address for the name: may pass by itself (a member restarting). */
  transient: boolean;
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ETIMEDOUT',
]);

/** A TLS handshake (and one HTTP request over it) against one endpoint; undefined when all is well. */
function probeEndpoint(
  endpoint: string,
  material: TlsMaterial,
  timeoutMs = 3_000,
): Promise<Finding | undefined> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return Promise.resolve(undefined);
  }
  const secure = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || 2379);
  const where = `${host}:${port}`;
  return new Promise((resolve) => {
    let settled = false;
    const done = (text: string | undefined, transient = false): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(text === undefined ? undefined : { text, transient });
    };
    const socket = tlsConnect({
      host,
      port,
      // An IP address is checked against the certificate's IP SANs; SNI takes host names only.
      ...(isIP(host) ? {} : { servername: host }),
      ALPNProtocols: ['http/1.1'],
      // Against http:// we only ask whether the port speaks TLS at all.
      rejectUnauthorized: secure,
      ...(secure && material.ca ? { ca: material.ca } : {}),
      ...(secure && material.cert ? { cert: material.cert } : {}),
      ...(secure && material.key ? { key: material.key } : {}),
    });
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('secureConnect', () => {
      if (!secure) {
        done(
          `${endpoint} serves TLS: use https:// (with etcd.caFile, and etcd.certFile/keyFile if etcd asks for a client certificate)`,
        );
        return;
      }
      // With TLS 1.3 the server judges our certificate after our side of the handshake is done:
      // its verdict arrives as an alert on the first read. A response means TLS is fine.
      socket.write(`GET /health HTTP/1.1\r\nHost: ${where}\r\nConnection: close\r\n\r\n`);
    });
    socket.once('data', () => done(undefined));
    socket.once('error', (tlsError: NodeJS.ErrnoException) =>
      done(
        secure ? classify(tlsError, where, material) : undefined,
        TRANSIENT_CODES.has(tlsError.code ?? ''),
      ),
    );
    socket.once('close', () =>
      done(
        secure
          ? `${where} closed the connection after the TLS handshake (does etcd accept ${material.certSetting ?? 'a missing client certificate'}?)`
          : undefined,
      ),
    );
  });
}

function classify(error: NodeJS.ErrnoException, where: string, material: TlsMaterial): string {
  const code = error.code ?? '';
  const ca = material.caSetting ?? "the system's CAs (etcd.caFile is not set)";
  if (code === 'ECONNREFUSED') return `nothing accepts connections at ${where}`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve the host of ${where}`;
  if (UNTRUSTED_SERVER.has(code))
    return `TLS: etcd's server certificate at ${where} is not signed by a CA in ${ca} (${code})`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return `TLS: etcd's server certificate at ${where} is not valid now (${code})`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `TLS: etcd's server certificate does not name ${where}: ${error.message}`;
  if (/CERTIFICATE_REQUIRED/.test(code) || (material.cert === undefined && /ALERT/.test(code)))
    return `TLS: etcd at ${where} requires a client certificate: set etcd.certFile and etcd.keyFile (${code})`;
  if (
    /ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_EXPIRED|DECRYPT_ERROR)/.test(
      code,
    )
  )
    return `TLS: etcd at ${where} refused the client certificate in ${material.certSetting ?? 'the config'}: not signed by a CA etcd trusts, or not for client auth (${code})`;
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL/.test(code))
    return `${where} does not speak TLS: use http:// (and no TLS settings) for it`;
  return `TLS handshake with ${where} failed: ${code ? `${code}: ` : ''}${error.message}`;
}
