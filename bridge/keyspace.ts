/**
 * Where the bridge keeps its own bookkeeping in etcd, apart from every route's prefix:
 *
 *   /_etcd-bridge/<group>/checkpoint/<route>            highest revision fully handled
 *   /_etcd-bridge/<group>/applied/<route><source key>   revision of the key last applied
 *   /_etcd-bridge/<group>/dlq/<route>/<revision>/<n>    dead-lettered records
 *   /_etcd-bridge/<group>/redriven/<record id>          an SQS record redriven (leased, 14 days)
 *   /_etcd-bridge/<group>/election/leader/<lease>       leader election (etcd3 Election)
 *   /_etcd-bridge/<group>/status                        the leader's published status (etcd-bridge status)
 *
 * Revisions are stored zero-padded to 20 digits so that etcd's byte-wise value comparison orders
 * them numerically.
 */

export const BOOKKEEPING_ROOT = '/_etcd-bridge/';

export interface Keyspace {
  readonly root: string;
  checkpoint(route: string): string;
  appliedPrefix(route: string): string;
  applied(route: string, sourceKey: string): string;
  dlqPrefix(route?: string): string;
  dlq(route: string, revision: string, discriminator: string): string;
  /** Written with a redrive from SQS: a copy of the same record then commits nothing. */
  redriven(recordId: string): string;
}

export function keyspaceFor(group: string): Keyspace {
  const root = `${BOOKKEEPING_ROOT}${group}/`;
  return {
    root,
    checkpoint: (route) => `${root}checkpoint/${route}`,
    appliedPrefix: (route) => `${root}applied/${route}`,
    applied: (route, sourceKey) => `${root}applied/${route}${sourceKey}`,
    dlqPrefix: (route) => (route === undefined ? `${root}dlq/` : `${root}dlq/${route}/`),
    dlq: (route, revision, discriminator) => `${root}dlq/${route}/${padRevision(revision)}/${discriminator}`,
    redriven: (recordId) => `${root}redriven/${recordId}`,
  };
}

export function padRevision(revision: string | bigint): string {
  return String(revision).padStart(20, '0');
}

export function unpadRevision(padded: string): string {
  return BigInt(padded).toString();
}
