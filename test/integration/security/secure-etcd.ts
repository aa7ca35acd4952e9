/**
 * A real etcd with client TLS (`--client-cert-auth`) and auth on, set up as the bridge is meant to
 * run against it in production:
 *  - user `root` (role `root`), used by the tests to seed records and read etcd's history;
 *  - role `etcd-bridge`: readwrite on `/esi-worker/`, `/state/` and `/_etcd-bridge/`, read on
 *    `/config/`, and nothing else;
 *  - user `bridge` with a password and that role only.
 * The client certificate's CN names no user, so the password is what grants access, not the cert.
 */
import { Etcd3, type IOptions } from 'etcd3';
import { EmbeddedEtcd } from '../../../bridge/etcd/embedded-etcd.js';
import { makeTestPki, type TestPki } from '../../helpers/certs.js';
import { testClientOptions } from '../../helpers/etcd.js';

export const ROOT_PASSWORD = 'R00t-pw-7c1e9a0f5d3b';
export const BRIDGE_USER = 'bridge';
export const BRIDGE_PASSWORD = 'Br1dge-pw-e4f08c2a6b9d';
export const BRIDGE_ROLE = 'etcd-bridge';

/** The prefixes the pipeline touches, and what the bridge's role may do there. */
export const ROLE_PERMISSIONS = [
  { prefix: '/esi-worker/', permission: 'Readwrite' },
  { prefix: '/state/', permission: 'Readwrite' },
  { prefix: '/_etcd-bridge/', permission: 'Readwrite' },
  { prefix: '/config/', permission: 'Read' },
] as const;

export interface SecureEtcd {
  etcd: EmbeddedEtcd;
  pki: TestPki;
  /** https://127.0.0.1:<port> */
  url: string;
  /** Logged in as root over TLS with the client certificate. */
  root: Etcd3;
  /** A client over TLS with the client certificate, logged in as `user`. */
  clientAs(user: string, password: string, overrides?: Partial<IOptions>): Etcd3;
  stop(): Promise<void>;
}

export function tlsCredentials(pki: TestPki): NonNullable<IOptions['credentials']> {
  return {
    rootCertificate: Buffer.from(pki.caPem),
    certChain: Buffer.from(pki.client.certPem),
    privateKey: Buffer.from(pki.client.keyPem),
  };
}

export async function startSecureEtcd(): Promise<SecureEtcd> {
  const pki = await makeTestPki();
  let etcd: EmbeddedEtcd | undefined;
  const clients: Etcd3[] = [];
  try {
    etcd = await EmbeddedEtcd.start({
      tls: {
        certFile: pki.server.certFile,
        keyFile: pki.server.keyFile,
        trustedCaFile: pki.caFile,
        clientCertAuth: true,
      },
    });
    const url = etcd.clientUrl;
    const clientAs = (user: string, password: string, overrides: Partial<IOptions> = {}): Etcd3 => {
      const client = new Etcd3(
        testClientOptions(url, {
          credentials: tlsCredentials(pki),
          auth: { username: user, password },
          ...overrides,
        }),
      );
      clients.push(client);
      return client;
    };

    // Users and roles first (auth is still off), then auth on.
    const setup = new Etcd3(testClientOptions(url, { credentials: tlsCredentials(pki) }));
    try {
      await setup.role('root').create();
      await setup.user('root').create(ROOT_PASSWORD);
      await setup.user('root').addRole('root');
      const role = await setup.role(BRIDGE_ROLE).create();
      for (const { prefix, permission } of ROLE_PERMISSIONS) {
        await role.grant({ permission, range: setup.range({ prefix }) });
      }
      await setup.user(BRIDGE_USER).create(BRIDGE_PASSWORD);
      await setup.user(BRIDGE_USER).addRole(BRIDGE_ROLE);
      await setup.auth.authEnable();
    } finally {
      setup.close();
    }
    const root = clientAs('root', ROOT_PASSWORD);
    const running = etcd;
    return {
      etcd: running,
      pki,
      url,
      root,
      clientAs,
      async stop() {
        for (const client of clients) client.close();
        await running.stop();
        await pki.remove();
      },
    };
  } catch (error) {
    for (const client of clients) client.close();
    await etcd?.stop();
    await pki.remove();
    throw error;
  }
}
