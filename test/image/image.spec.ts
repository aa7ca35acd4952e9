/**
 * `npm run test:image`: the bridge's image, built from the real Dockerfile and run as ECS runs it.
 * Not part of `npm test` (a cold run makes a base image and downloads the dependencies: minutes).
 *
 * - Docker: Debian's docker.io (installed with apt when missing, as root); a daemon started here when
 *   none runs, as `dockerd --bridge=none --iptables=false` (no docker0, no NAT rules), stopped after.
 *   Containers use `--network host` and reach only 127.0.0.1.
 * - Base: NODE_IMAGE if given, else node:24-slim if the daemon has it, else a stand-in made by
 *   test/image/base-image.sh (kept as etcd-bridge-base:node24-bookworm for the next run).
 * - Then: one container from the image serves both stage functions (`etcd-bridge lambda-endpoint`);
 *   another runs the image's own entrypoint and command (`start --invoke lambda`) against a local etcd,
 *   configured by environment only, as the ECS task configures it. Checked: /healthz, the non-root
 *   user, the heap flags, and the seed operation played through it: records (2) and (3) byte for byte.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BRIDGE_ENV, BRIDGE_V8_FLAGS } from '../../bin/v8-flags.js';
import { type EtcdFixture, history, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { seed } from '../helpers/seed.js';
import { waitFor } from '../helpers/wait.js';
import { Docker } from './docker.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const IMAGE = 'etcd-bridge:test-image';
const LOCAL_BASE = 'etcd-bridge-base:node24-bookworm';
const RUN = `etcd-bridge-test-${process.pid}`;

function run(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', ...options });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}\n${result.stdout}${result.stderr}`);
  return String(result.stdout ?? '');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;

describe('the bridge image', () => {
  let docker: Docker;
  let fixture: EtcdFixture;
  let metricsPort: number;
  const timings: string[] = [];

  before(async () => {
    const started = Date.now();
    docker = await Docker.ready();
    run(process.execPath, [join(ROOT, 'scripts', 'install-runtime.mjs')], { stdio: 'inherit' });

    let base = process.env.NODE_IMAGE;
    if (!base) base = docker.hasImage('node:24-slim') ? 'node:24-slim' : LOCAL_BASE;
    if (base === LOCAL_BASE && !docker.hasImage(LOCAL_BASE)) {
      const t = Date.now();
      run('bash', [join(ROOT, 'test', 'image', 'base-image.sh'), LOCAL_BASE], { stdio: 'inherit' });
      timings.push(`base image ${seconds(t)}`);
    }
    const t = Date.now();
    docker.build(IMAGE, { NODE_IMAGE: base });
    timings.push(`docker build on ${base} ${seconds(t)}`);

    fixture = await startEtcd();
    const config = seed.config;
    await fixture.client.put(config.key).value(config.value);

    // The stage functions, served from the image (the same dist/ the bridge runs).
    const lambdaPort = await freePort();
    docker.run(`${RUN}-lambda`, ['lambda-endpoint', '--port', String(lambdaPort)]);
    await waitFor(
      'the image\u2019s Lambda endpoint',
      () => docker.logs(`${RUN}-lambda`).includes('AWS_ENDPOINT_URL_LAMBDA='),
      30_000,
      200,
    );

    // The bridge: the image's entrypoint and command, configured by the environment as in ECS. Its
    // /healthz port is 9464 (the image's HEALTHCHECK) unless another process here holds it.
    metricsPort = await freePort().then(async (p) => ((await portFree(9464)) ? 9464 : p));
    const command =
      metricsPort === 9464
        ? []
        : [
            'start',
            '--config',
            '/app/config/routes.json',
            '--invoke',
            'lambda',
            '--metrics-port',
            String(metricsPort),
          ];
    docker.run(`${RUN}-bridge`, command, {
      ETCD_ENDPOINTS: fixture.etcd.clientUrl,
      BRIDGE_GROUP: 'image',
      AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${lambdaPort}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    timings.push(`ready ${seconds(started)} (/healthz on ${metricsPort})`);
  });

  after(async () => {
    for (const name of [`${RUN}-bridge`, `${RUN}-lambda`]) docker?.remove(name);
    if (fixture) await stopEtcd(fixture);
    await docker?.close();
    console.info(`test:image timings: ${timings.join(', ')}`);
  });

  it('answers /healthz', async () => {
    const ok = await waitFor(
      '/healthz of the container',
      async () => {
        try {
          const response = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
          return response.ok ? true : undefined;
        } catch {
          return undefined;
        }
      },
      60_000,
      250,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${docker.logs(`${RUN}-bridge`)}`);
    });
    assert.equal(ok, true);
  });

  it('runs as the non-root node user, with the bridge\u2019s heap flags', () => {
    assert.equal(docker.inspect(IMAGE, '{{.Config.User}}'), 'node');
    const status = docker.exec(`${RUN}-bridge`, ['cat', '/proc/1/status']);
    assert.match(status, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
    const cmdline = docker.exec(`${RUN}-bridge`, ['cat', '/proc/1/cmdline']).split('\0');
    for (const [name, value] of Object.entries(BRIDGE_V8_FLAGS))
      assert.ok(cmdline.includes(`${name}=${value}`));
    assert.ok(cmdline.includes('bin/etcd-bridge.js') && cmdline.includes('start'), cmdline.join(' '));
    const environ = docker.exec(`${RUN}-bridge`, ['cat', '/proc/1/environ']).split('\0');
    for (const [name, value] of Object.entries(BRIDGE_ENV)) assert.ok(environ.includes(`${name}=${value}`));
    // The application files belong to root: the bridge cannot change them.
    assert.match(docker.exec(`${RUN}-bridge`, ['stat', '-c', '%U', '/app/dist']), /^root\s*$/);
  });

  it('plays the seed operation through: records (2) and (3) byte for byte', async () => {
    const { heatStack, jobState, state } = seed;
    await fixture.client.put(heatStack.key).value(heatStack.value);
    const stored = await waitFor(
      'state record (3)',
      async () => (await fixture.client.get(state.key).string()) ?? undefined,
      60_000,
      100,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${docker.logs(`${RUN}-bridge`)}`);
    });
    assert.equal(stored, state.value);
    // Stage job-state deletes (2) once it has written (3): read it back from etcd's history.
    const jobStatePuts = (await history(fixture.client, jobState.key)).filter((e) => e.type === 'put');
    assert.deepEqual(
      jobStatePuts.map((e) => e.value),
      [jobState.value],
    );
    assert.equal(await fixture.client.get(jobState.key).string(), null);
  });
});

async function portFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
