/**
 * Test PKI made with the `openssl` command line in a temp dir: a CA, a server certificate for
 * 127.0.0.1 and localhost, a client certificate, and an unrelated second CA (with its own client
 * certificate) for the "wrong CA" cases. EC P-256 keys: fast to make, and Go and Node both take them.
 *
 * The server certificate carries clientAuth besides serverAuth, so that EmbeddedEtcd can present it
 * as a client certificate for its own /health probe of an etcd that requires one.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertPair {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

export interface TestPki {
  dir: string;
  /** The CA that signed `server` and `client`. */
  caFile: string;
  caPem: string;
  /** CN=localhost, SAN IP:127.0.0.1 and DNS:localhost; serverAuth and clientAuth. */
  server: CertPair;
  /** CN=`clientCommonName` (default "etcd-bridge-client"); clientAuth. */
  client: CertPair;
  /** A CA that signed nothing etcd trusts, and a client certificate it signed. */
  otherCaFile: string;
  otherCaPem: string;
  otherClient: CertPair;
  /** Removes the temp dir. */
  remove(): Promise<void>;
}

/** Throws a readable error when `openssl` is not on the PATH. */
export async function opensslVersion(): Promise<string> {
  try {
    const { stdout } = await run('openssl', ['version']);
    return stdout.trim();
  } catch (error) {
    throw new Error(`the tests need the openssl command line tool: ${(error as Error).message}`);
  }
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args.join(' ')} failed: ${(error as Error).message}\n${stderr}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string): Promise<{ certFile: string; keyFile: string }> {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  await openssl(
    [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return { certFile, keyFile };
}

async function makeLeaf(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
  ca: { certFile: string; keyFile: string },
): Promise<CertPair> {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, extensions);
  await openssl(['req', '-new', ...EC_KEY, '-keyout', keyFile, '-out', csr, '-subj', subject], dir);
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      '2',
      '-extfile',
      ext,
      '-out',
      certFile,
    ],
    dir,
  );
  return {
    certFile,
    keyFile,
    certPem: await readFile(certFile, 'utf8'),
    keyPem: await readFile(keyFile, 'utf8'),
  };
}

/** Makes the whole PKI in a fresh temp dir (about 0.1 s). */
export async function makeTestPki(options: { clientCommonName?: string } = {}): Promise<TestPki> {
  await opensslVersion();
  const dir = await mkdtemp(join(tmpdir(), 'etcd-bridge-pki-'));
  try {
    const ca = await makeCa(dir, 'ca');
    const otherCa = await makeCa(dir, 'other-ca');
    const server = await makeLeaf(
      dir,
      'server',
      '/CN=localhost',
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth,clientAuth',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '',
      ].join('\n'),
      ca,
    );
    const clientExt = [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=clientAuth',
      '',
    ].join('\n');
    const client = await makeLeaf(
      dir,
      'client',
      `/CN=${options.clientCommonName ?? 'etcd-bridge-client'}`,
      clientExt,
      ca,
    );
    const otherClient = await makeLeaf(dir, 'other-client', '/CN=intruder', clientExt, otherCa);
    return {
      dir,
      caFile: ca.certFile,
      caPem: await readFile(ca.certFile, 'utf8'),
      server,
      client,
      otherCaFile: otherCa.certFile,
      otherCaPem: await readFile(otherCa.certFile, 'utf8'),
      otherClient,
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
