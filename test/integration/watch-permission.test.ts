/**
 * A bridge whose etcd user loses permission on a watched prefix stops, rather than reconnecting
 * its watch forever.
 *
 * etcd (3.4) checks permission when a watch is created, not on a watch already open: after the
 * permission is revoked (with etcdctl, as an operator would), an open watch goes on delivering,
 * and the revocation shows at the next (re)connect, as a cancel whose reason reads
 * "rpc error: code = PermissionDenied desc = etcdserver: permission denied". So the test revokes,
 * then resets the bridge's connections (a TCP proxy in front of etcd: a network blip): the heat-
 * stacks route's watch reconnects, is refused, and the bridge must stop within seconds with the
 * reason saying permission; the job-state route, whose permission stays, is never refused.
 *
 * Likewise for credentials that stop working (the user's password changed): etcd drops the user's
 * tokens, the watch's next connect is refused the old token (retried: tokens also just expire),
 * logs in again, is refused the password, and the bridge stops.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bridge } from '../../bridge/bridge.js';
import { parseBridgeConfig } from '../../bridge/config.js';
import { findEtcdctl } from '../../bridge/etcd/find-etcd.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const ROOT_PASSWORD = 'R00t-pw-5e2d9c1a7b30';
const USER = 'bridge';
const PASSWORD = 'Br1dge-pw-0a6c3e8f2d41';
const ROLE = 'etcd-bridge';
const HEAT_STACKS = '/esi-worker/heat_stacks/';
const JOB_STATE = '/esi-worker/job_state/';
/** Each route's prefix on its own grant, so one can be revoked alone. */
const GRANTS = [
  [HEAT_STACKS, 'readwrite'],
  [JOB_STATE, 'readwrite'],
  ['/state/', 'readwrite'],
  ['/_etcd-bridge/', 'readwrite'],
  ['/config/', 'read'],
] as const;

let fixture: EtcdFixture;
let proxy: TcpProxy;
const bridges: Bridge[] = [];

/** etcdctl against the test's etcd; `input` goes to its stdin (a password with --interactive=false). */
async function etcdctl(args: string[], input?: string): Promise<string> {
  const child = run(await findEtcdctl(), [`--endpoints=${fixture.etcd.clientUrl}`, ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  child.child.stdin?.end(input ?? '');
  return (await child).stdout;
}

const asRoot = (...args: string[]) => etcdctl([`--user=root:${ROOT_PASSWORD}`, ...args]);

async function startBridge(group: string): Promise<Bridge> {
  const config = parseBridgeConfig({
    etcd: { endpoints: [proxy.url], username: USER, password: PASSWORD },
    group,
    observability: { port: 0 },
    leaseTtlSeconds: 2,
    checkpointFlushMs: 100,
  });
  const bridge = await Bridge.start(config);
  bridges.push(bridge);
  return bridge;
}

/** A network blip between the bridge and etcd: every connection reset, new ones refused for a moment. */
async function blip(): Promise<void> {
  proxy.cut('reset');
  await new Promise((resolve) => setTimeout(resolve, 200));
  proxy.restore();
}

beforeAll(async () => {
  fixture = await startEtcd();
  await etcdctl(['user', 'add', `root:${ROOT_PASSWORD}`]);
  await etcdctl(['user', 'grant-role', 'root', 'root']);
  await etcdctl(['role', 'add', ROLE]);
  for (const [prefix, permission] of GRANTS)
    await etcdctl(['role', 'grant-permission', ROLE, permission, prefix, '--prefix=true']);
  await etcdctl(['user', 'add', `${USER}:${PASSWORD}`]);
  await etcdctl(['user', 'grant-role', USER, ROLE]);
  await etcdctl(['auth', 'enable']);
  proxy = await TcpProxy.start(fixture.etcd.clientUrl);
});

afterAll(async () => {
  for (const bridge of bridges) await bridge.stop({ drainTimeoutMs: 1_000 }).catch(() => undefined);
  await proxy?.close();
  await stopEtcd();
});

describe('a watched prefix whose permission is revoked', () => {
  it('stops the bridge (permission denied) instead of reconnecting the watch forever', async () => {
    // Prepare: a bridge through the proxy, both routes watching.
    const started = await startBridge('perm');
    const heatStacks = started.route('heat-stacks')!;
    const jobState = started.route('job-state')!;
    expect(heatStacks.prefix).toBe(HEAT_STACKS);
    await waitFor('both watches up', () => started.status().every((r) => r.watch === 'watching'));

    // Act: revoke the heat-stacks prefix (an open watch is not re-checked), then a network blip.
    await asRoot('role', 'revoke-permission', ROLE, HEAT_STACKS, '--prefix=true');
    expect(await asRoot('role', 'get', ROLE)).not.toContain(HEAT_STACKS);
    await blip();
    const fatal = await waitFor('the bridge to stop', () => started.fatal, 8_000);

    // Assess: the reason says permission, names the prefix; the watch did not go on reconnecting.
    expect(fatal.message).toMatch(/permission denied/);
    expect(fatal.message).toContain(HEAT_STACKS);
    // Refused once, and no reconnect after that (those during the cut were the blip's).
    const reconnectsAtStop = heatStacks.watchReconnects;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(['failed', 'stopped']).toContain(heatStacks.watchState);
    expect(heatStacks.watchReconnects).toBe(reconnectsAtStop);
    expect(heatStacks.failures.entries()).toContainEqual({ verdict: 'fatal', reason: 'etcd-auth', count: 1 });
    // The other route was never refused.
    expect(jobState.failures.entries().some((f) => f.reason === 'etcd-auth')).toBe(false);

    // And the user itself could still log in and read what it kept: it was the permission, not the password.
    const user = new Etcd3({ hosts: fixture.etcd.clientUrl, auth: { username: USER, password: PASSWORD } });
    try {
      await expect(user.getAll().prefix(JOB_STATE).keys()).resolves.toEqual([]);
    } finally {
      user.close();
    }
  }, 40_000);

  it('a password that stops working stops the bridge too (authentication failed)', async () => {
    // Prepare: the prefix granted again, a fresh bridge watching.
    await asRoot('role', 'grant-permission', ROLE, 'readwrite', HEAT_STACKS, '--prefix=true');
    const started = await startBridge('cred');
    await waitFor('both watches up', () => started.status().every((r) => r.watch === 'watching'));

    // Act
    await etcdctl(
      [`--user=root:${ROOT_PASSWORD}`, 'user', 'passwd', USER, '--interactive=false'],
      'Ch4nged-pw-91b2c7\n',
    );
    await blip();
    const fatal = await waitFor('the bridge to stop', () => started.fatal, 8_000);

    // Assess
    expect(fatal.message).toMatch(/authentication failed/);
  }, 40_000);
});
