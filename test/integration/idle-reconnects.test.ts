/**
 * A bridge with nothing to do must not churn its connections: an idle `etcd-bridge dev` (what
 * `npm start` runs), an idle `etcd-bridge start` against one member and one against a 3-member
 * cluster, all for two minutes (IDLE_TEST_MS), log no watch interruption and no keep-alive move.
 *
 * What used to break them (dev: ~5 s after start, both watches "14 UNAVAILABLE: Connection
 * dropped"): the seed demo cancels its own watch when it is done; etcd3 takes the CANCELLED of a
 * stream it opened for a failure of the host and closes every channel to it; gRPC shuts the shared
 * connection down gracefully, and its next keepalive ping on the closing connection drops every
 * stream still on it. The bridge's streams now have connections of their own (bridge/etcd/endpoint-streams.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BridgeProcess } from '../helpers/bridge-process.js';
import { startEtcd, stopEtcd } from '../helpers/etcd.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const IDLE_MS = Number(process.env.IDLE_TEST_MS ?? 120_000);
/** Every way the bridge reports a stream it had to reopen. */
const RECONNECT = /watch interrupted|keep-alive moved|Connection dropped/;

afterAll(() => stopEtcd());

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface DevProcess {
  child: ChildProcess;
  lines: string[];
  seedPlayed: Promise<void>;
}

function spawnDev(dataDir: string): DevProcess {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin', 'etcd-bridge.js'),
      'dev',
      '--data-dir',
      dataDir,
      '--etcd-port',
      '0',
      '--lambda-port',
      '0',
      '--metrics-port',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let played: () => void = () => {};
  const seedPlayed = new Promise<void>((resolve) => {
    played = resolve;
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      if (line.includes('identical to the seed.')) played();
    });
  }
  return { child, lines, seedPlayed };
}

describe('an idle bridge keeps its connections', () => {
  it(
    `idle dev (npm start), idle start on one member and on 3: 0 watch reconnects in ${IDLE_MS / 1000} s`,
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'idle-dev-'));
      const dev = spawnDev(dataDir);
      const { etcd } = await startEtcd();
      const cluster = await EtcdCluster.start();
      const bridge = BridgeProcess.spawn({ etcd: etcd.clientUrl, group: 'idle', name: 'idle start' });
      const clustered = BridgeProcess.spawn({
        etcd: cluster.endpoints.join(','),
        group: 'idle',
        name: 'idle start, 3 members',
      });
      try {
        await Promise.race([
          dev.seedPlayed,
          sleep(60_000).then(() => {
            throw new Error(`dev did not play the seed:\n${dev.lines.slice(-40).join('\n')}`);
          }),
        ]);
        await bridge.waitForLeader(30_000);
        await clustered.waitForLeader(30_000);
        await sleep(IDLE_MS);
        const devReconnects = dev.lines.filter((line) => RECONNECT.test(line));
        expect(devReconnects, 'dev').toEqual([]);
        expect(bridge.linesMatching(RECONNECT), 'start, one member').toEqual([]);
        expect(clustered.linesMatching(RECONNECT), 'start, 3 members').toEqual([]);
        expect(dev.child.exitCode).toBeNull();
        expect(bridge.hasExited).toBe(false);
        expect(clustered.hasExited).toBe(false);
      } finally {
        dev.child.kill('SIGINT');
        await Promise.race([new Promise((resolve) => dev.child.once('exit', resolve)), sleep(20_000)]);
        dev.child.kill('SIGKILL');
        await Promise.all([bridge.stop(), clustered.stop()]);
        await cluster.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    IDLE_MS + 150_000,
  );
});
