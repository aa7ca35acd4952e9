/**
 * With etcd auth on, every endpoint's stream pool logs in (a unary Authenticate, bounded only by
 * etcd.callTimeoutMs) before its first stream. A keep-alive that moves to a member that is cut off
 * (blackholed) waits out that login instead of its answer deadline, and the lease expires meanwhile.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEtcdClient } from '../../../bridge/etcd/client.js';
import { findEtcdctl } from '../../../bridge/etcd/find-etcd.js';
import { LeaseKeeper } from '../../../bridge/etcd/lease-keeper.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../../helpers/etcd.js';
import { TcpProxy } from '../../helpers/tcp-proxy.js';

const run = promisify(execFile);
const ROOT = 'R00t-pw-1';
const USER = 'bridge';
const PASSWORD = 'Br1dge-pw-2';

let fixture: EtcdFixture;
const proxies: TcpProxy[] = [];

async function etcdctl(args: string[]): Promise<string> {
  const { stdout } = await run(await findEtcdctl(), [`--endpoints=${fixture.etcd.clientUrl}`, ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  return stdout;
}

beforeAll(async () => {
  fixture = await startEtcd();
  await etcdctl(['user', 'add', `root:${ROOT}`]);
  await etcdctl(['user', 'grant-role', 'root', 'root']);
  await etcdctl(['role', 'add', 'r']);
  await etcdctl(['role', 'grant-permission', 'r', 'readwrite', '/x/', '--prefix=true']);
  await etcdctl(['user', 'add', `${USER}:${PASSWORD}`]);
  await etcdctl(['user', 'grant-role', USER, 'r']);
  await etcdctl(['auth', 'enable']);
  for (let i = 0; i < 3; i++) proxies.push(await TcpProxy.start(fixture.etcd.clientUrl));
});

afterAll(async () => {
  for (const proxy of proxies) await proxy.close();
  await stopEtcd();
});

describe('lease keep-alive with auth, moving to a cut-off member', () => {
  it('leaves that member within its answer deadline and keeps the lease', async () => {
    const [a, b, c] = proxies as [TcpProxy, TcpProxy, TcpProxy];
    const admin = new Etcd3({ hosts: fixture.etcd.clientUrl, auth: { username: USER, password: PASSWORD } });
    const client = createEtcdClient({
      endpoints: [a.url, b.url, c.url],
      username: USER,
      password: PASSWORD,
      callTimeoutMs: 5_000,
    });
    const lost: string[] = [];
    const moves: string[] = [];
    const ttl = 5;
    const { ID } = await admin.leaseClient.leaseGrant({ TTL: ttl, ID: 0 });
    const random = vi.spyOn(Math, 'random').mockReturnValue(0); // start on endpoint 0 (a)
    const keeper = new LeaseKeeper(client.endpoints, ID, ttl, {
      onLost: (reason) => lost.push(reason),
      onFailover: (from, to, reason) => moves.push(`${from} -> ${to}: ${reason}`),
    });
    random.mockRestore();
    try {
      // b is cut off from the bridge (its peers would still see it); nothing has logged in through it.
      b.cut('blackhole');
      keeper.start();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(keeper.endpoint).toBe(a.url);
      // a goes away: the keep-alive must get through b or c before the lease's 5 s are up.
      a.cut('reset');
      await new Promise((resolve) => setTimeout(resolve, 9_000));
      const left = await admin.leaseClient.leaseTimeToLive({ ID, keys: false });
      expect(lost).toEqual([]);
      expect(Number(left.TTL)).toBeGreaterThan(0);
    } finally {
      keeper.stop();
      client.close();
      admin.close();
    }
  }, 30_000);
});
