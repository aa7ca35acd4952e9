import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EmbeddedEtcd, EtcdStartError, freePort } from '../../bridge/etcd/embedded-etcd.js';
import { EtcdNotFoundError, findEtcdBinary, findEtcdctl } from '../../bridge/etcd/find-etcd.js';
import {
  type EtcdFixture,
  HistoryCompactedError,
  history,
  startEtcd,
  stopEtcd,
  testClientOptions,
} from '../helpers/etcd.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

/** Alive and not a zombie (a container's PID 1 may never reap orphans). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return !/\) Z /.test(stat);
}

/** Polls `attempt` until it resolves; the etcd3 client's circuit breaker can refuse calls for ~5 s after failures. */
async function eventually<T>(attempt: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

describe('EmbeddedEtcd', () => {
  let fixture: EtcdFixture;

  beforeAll(async () => {
    fixture = await startEtcd();
  });

  afterAll(async () => {
    await stopEtcd();
  });

  it('serves put and get through etcd3', async () => {
    const { etcd, client } = fixture;
    expect(etcd.clientUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(etcd.pid).toBeGreaterThan(0);
    await client.put('greeting').value('hello');
    expect(await client.get('greeting').string()).toBe('hello');
  });

  it('keeps its data across kill and restart, on the same ports and data dir', async () => {
    const own = await startEtcd();
    const { etcd, client } = own;
    const { clientUrl, dataDir, pid } = etcd;
    await client.put('durable').value('yes');

    await etcd.kill();
    expect(etcd.isRunning).toBe(false);
    expect(existsSync(dataDir)).toBe(true);
    await etcd.restart();

    expect(etcd.clientUrl).toBe(clientUrl);
    expect(etcd.dataDir).toBe(dataDir);
    expect(etcd.pid).not.toBe(pid);
    // The same client reconnects by itself: a bridge keeps its client across etcd restarts.
    expect(await eventually(() => client.get('durable').string())).toBe('yes');

    await stopEtcd(own);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('restarts after a graceful stop that kept the data dir', async () => {
    const etcd = await EmbeddedEtcd.start();
    const client = new Etcd3(testClientOptions(etcd.clientUrl));
    try {
      await client.put('k').value('v');
      await etcd.stop({ keepDataDir: true });
      await etcd.restart();
      expect(await eventually(() => client.get('k').string())).toBe('v');
    } finally {
      client.close();
      await etcd.stop();
    }
    await expect(etcd.restart()).rejects.toThrow(/data dir was removed/);
  });

  it('runs several instances in parallel on distinct ports', async () => {
    const instances = await Promise.all([EmbeddedEtcd.start(), EmbeddedEtcd.start(), EmbeddedEtcd.start()]);
    const clients = instances.map((etcd) => new Etcd3(testClientOptions(etcd.clientUrl)));
    try {
      expect(new Set(instances.map((etcd) => etcd.clientUrl)).size).toBe(3);
      await Promise.all(clients.map((client, i) => client.put('whoami').value(String(i))));
      expect(await Promise.all(clients.map((client) => client.get('whoami').string()))).toEqual([
        '0',
        '1',
        '2',
      ]);
    } finally {
      for (const client of clients) client.close();
      await Promise.all(instances.map((etcd) => etcd.stop()));
    }
  });

  it("rejects with etcd's own last output when its port is taken", async () => {
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', () => resolve()));
    try {
      const start = EmbeddedEtcd.start({ clientPort: port });
      await expect(start).rejects.toBeInstanceOf(EtcdStartError);
      await expect(start).rejects.toThrow(/address already in use/);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  // vitest itself ends workers with SIGTERM or worker.terminate(), where no 'exit' handler runs.
  it.each([
    ['exits normally', 'exit'],
    ['is SIGKILLed', 'SIGKILL'],
  ])('kills its etcd when the Node process %s without stopping it', async (_, how) => {
    const dir = await mkdtemp(join(tmpdir(), 'etcd-orphan-'));
    const script = join(dir, 'orphan.mts');
    const module = fileURLToPath(new URL('../../bridge/etcd/embedded-etcd.ts', import.meta.url));
    await writeFile(
      script,
      `import { EmbeddedEtcd } from ${JSON.stringify(module)};\n` +
        'const etcd = await EmbeddedEtcd.start();\nconsole.log(JSON.stringify([etcd.pid, etcd.dataDir]));\n' +
        // 'exit': wait for the test's go (it has checked etcd is alive), then let the event loop
        // empty so Node exits on its own; exiting right after the print raced that check.
        (how === 'exit'
          ? "process.stdin.once('data', () => process.stdin.destroy());\n"
          : 'setInterval(() => {}, 1000);\n'),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const [pid, dataDir] = await new Promise<[number, string]>((resolve) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()) as [number, string]));
    });
    expect(pid).toBeGreaterThan(0);
    expect(isAlive(pid)).toBe(true);
    expect(existsSync(dataDir)).toBe(true);
    if (how === 'SIGKILL') child.kill('SIGKILL');
    else child.stdin.write('go\n');
    expect(await exited).toBe(how === 'SIGKILL' ? null : 0);
    await rm(dir, { recursive: true, force: true });
    await vi.waitFor(() => expect(isAlive(pid)).toBe(false), { timeout: 5_000 });
    await vi.waitFor(() => expect(existsSync(dataDir)).toBe(false), { timeout: 5_000 });
  });
});

describe('findEtcdBinary', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it.each([
    ['etcd', 'ETCD_BIN', findEtcdBinary],
    ['etcdctl', 'ETCDCTL_BIN', findEtcdctl],
  ] as const)('%s: prefers %s, then PATH', async (binary, variable, find) => {
    const dir = await mkdtemp(join(tmpdir(), `fake-${binary}-`));
    const fake = join(dir, binary);
    await writeFile(fake, '#!/bin/sh\n');
    await chmod(fake, 0o755);
    try {
      expect(await find({ env: { [variable]: fake, PATH: '' } })).toBe(fake);
      expect(await find({ env: { PATH: dir } })).toBe(fake);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the install command when ETCD_BIN points at nothing', async () => {
    vi.stubEnv('ETCD_BIN', '/nonexistent');
    const found = findEtcdBinary({ install: false });
    await expect(found).rejects.toBeInstanceOf(EtcdNotFoundError);
    await expect(found).rejects.toThrow('sudo apt-get install etcd-server');
    await expect(EmbeddedEtcd.start()).rejects.toThrow(/ETCD_BIN=\/nonexistent/);
  });

  it('EmbeddedEtcd.start reports a binary that cannot be run', async () => {
    await expect(EmbeddedEtcd.start({ binary: '/nonexistent/etcd' })).rejects.toThrow(/could not run/);
  });
});

describe('findEtcdctl', () => {
  it('names etcd-client when ETCDCTL_BIN points at nothing', async () => {
    await expect(findEtcdctl({ env: { ETCDCTL_BIN: '/nonexistent' } })).rejects.toThrow(
      /ETCDCTL_BIN=\/nonexistent .*sudo apt-get install etcd-client/,
    );
  });

  it('finds (as root: installs) the etcdctl the fault tests and the soak run', async () => {
    const found = await findEtcdctl();
    const { stdout } = await promisify(execFile)(found, ['version']);
    expect(stdout).toMatch(/etcdctl version/);
  });
});

describe('TcpProxy', () => {
  let fixture: EtcdFixture;
  let proxy: TcpProxy | undefined;
  let client: Etcd3 | undefined;

  beforeAll(async () => {
    fixture = await startEtcd();
    await fixture.client.put('through-proxy').value('ok');
  });

  afterEach(async () => {
    client?.close();
    await proxy?.close();
    client = undefined;
    proxy = undefined;
  });

  afterAll(async () => {
    await stopEtcd(fixture);
  });

  async function connect(): Promise<{ proxy: TcpProxy; client: Etcd3 }> {
    proxy = await TcpProxy.start(fixture.etcd.clientUrl);
    // Short deadlines so that a cut shows up as a failure within the test, not as a hang.
    client = new Etcd3(
      testClientOptions(proxy.address, {
        defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 1_000 }),
      }),
    );
    expect(await client.get('through-proxy').string()).toBe('ok');
    return { proxy, client };
  }

  it('forwards, fails requests when cut, and recovers on restore', async () => {
    const { proxy, client } = await connect();
    expect(proxy.connectionCount).toBeGreaterThan(0);

    proxy.cut();
    expect(proxy.connectionCount).toBe(0);
    await expect(client.get('through-proxy').string()).rejects.toThrow();

    proxy.restore();
    expect(await eventually(() => client.get('through-proxy').string())).toBe('ok');
  });

  it('blackhole cut makes requests hang until restore, then lets them through', async () => {
    const { proxy, client } = await connect();
    proxy.cut('blackhole');
    const hanging = client.get('through-proxy').string();
    await expect(hanging).rejects.toThrow(/DEADLINE_EXCEEDED|deadline/i);

    proxy.restore();
    expect(await eventually(() => client.get('through-proxy').string())).toBe('ok');
  });
});

describe('history', () => {
  let fixture: EtcdFixture;

  beforeAll(async () => {
    fixture = await startEtcd();
  });

  afterAll(async () => {
    await stopEtcd(fixture);
  });

  it("returns etcd's own record of every put and delete under a prefix, in revision order", async () => {
    const { client } = fixture;
    await client.put('job/1').value('a');
    await client.put('other/1').value('x');
    await client.put('job/2').value('b');
    await client.put('job/1').value('a2');
    await client.delete().key('job/2');
    await client.put('other/2').value('y'); // the latest revision is outside the prefix

    const events = await history(client, 'job/');
    expect(events.map(({ key, type, value, version }) => ({ key, type, value, version }))).toEqual([
      { key: 'job/1', type: 'put', value: 'a', version: 1 },
      { key: 'job/2', type: 'put', value: 'b', version: 1 },
      { key: 'job/1', type: 'put', value: 'a2', version: 2 },
      { key: 'job/2', type: 'delete', value: '', version: 0 },
    ]);
    const revisions = events.map((event) => event.modRevision);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    expect(new Set(revisions).size).toBe(revisions.length);

    // By URL too, and the history of an untouched prefix is empty.
    expect(await history(fixture.etcd.clientUrl, 'job/')).toEqual(events);
    expect(await history(client, 'nobody/')).toEqual([]);
  });

  it('keeps every event of a multi-key transaction', async () => {
    const { client } = fixture;
    await client
      .if('txn/a', 'Version', '==', 0)
      .then(client.put('txn/a').value('1'), client.put('txn/b').value('2'))
      .commit();
    const events = await history(client, 'txn/');
    expect(events.map((event) => event.key)).toEqual(['txn/a', 'txn/b']);
    expect(events[0]?.modRevision).toBe(events[1]?.modRevision);
  });

  it('refuses a compacted history rather than returning part of it', async () => {
    const { etcd, client } = await startEtcd();
    try {
      await client.put('gone/1').value('1');
      const { header } = await client.put('gone/1').value('2').exec();
      await client.kv.compact({ revision: header.revision });
      await expect(history(client, 'gone/')).rejects.toBeInstanceOf(HistoryCompactedError);
    } finally {
      client.close();
      await etcd.stop();
    }
  });
});
