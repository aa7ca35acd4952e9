/**
 * The bridge against an etcd run as it should be in production: client TLS with client
 * certificates (`--client-cert-auth`), auth on, and the bridge logged in as a user whose role
 * covers only the pipeline's prefixes (see secure-etcd.ts). Shows that:
 *  - the role cannot touch any other prefix;
 *  - `start` with a wrong password, a wrong CA, a client certificate etcd does not trust, or
 *    plaintext http:// against the TLS port exits non-zero within seconds, says on stderr which
 *    setting is wrong, and writes nothing at all;
 *  - the bridge, over TLS with a client certificate and a password, runs the seed operation;
 *  - neither the password nor key material ever shows in the bridge's output (LOG_LEVEL=debug) or
 *    in `status` / `status --json`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdPermissionDeniedError } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { currentRevision, history } from '../../helpers/etcd.js';
import { seed } from '../../helpers/seed.js';
import { waitFor } from '../../helpers/wait.js';
import { CliProcess, killAllCliProcesses } from './cli-process.js';
import {
  BRIDGE_PASSWORD,
  BRIDGE_USER,
  ROOT_PASSWORD,
  type SecureEtcd,
  startSecureEtcd,
} from './secure-etcd.js';

const WRONG_PASSWORD = 'Wr0ng-pw-3b5d7f91a2c4';
const GROUP = 'secure';

let secure: SecureEtcd;
let dir: string;

beforeAll(async () => {
  secure = await startSecureEtcd();
  dir = await mkdtemp(join(tmpdir(), 'etcd-bridge-security-'));
});

afterAll(async () => {
  await killAllCliProcesses();
  await secure?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Every string that must never be printed: passwords, and each line of every private key. */
function secrets(): string[] {
  const keyLines = [secure.pki.client.keyPem, secure.pki.otherClient.keyPem, secure.pki.server.keyPem]
    .flatMap((pem) => pem.split('\n'))
    .map((line) => line.trim())
    .filter((line) => line.length >= 16 && !line.startsWith('-----'));
  return [BRIDGE_PASSWORD, ROOT_PASSWORD, WRONG_PASSWORD, ...keyLines];
}

function expectNoSecrets(what: string, text: string): void {
  const leaked = secrets().filter((secret) => text.includes(secret));
  expect(leaked, `${what} prints secrets`).toEqual([]);
}

async function writeConfig(name: string, etcd: Record<string, unknown>): Promise<string> {
  const file = join(dir, `${name}.json`);
  await writeFile(
    file,
    JSON.stringify({ etcd, group: GROUP, observability: { port: 0 }, leaseTtlSeconds: 2 }),
  );
  return file;
}

/** The bridge's etcd settings, as a file would give them (files for the TLS material). */
function goodEtcdSettings(): Record<string, unknown> {
  return {
    endpoints: [secure.url],
    username: BRIDGE_USER,
    password: BRIDGE_PASSWORD,
    caFile: secure.pki.caFile,
    certFile: secure.pki.client.certFile,
    keyFile: secure.pki.client.keyFile,
  };
}

/** The same settings as the environment of a container gives them (PEM text, not files). */
function goodEtcdEnvironment(): NodeJS.ProcessEnv {
  return {
    ETCD_ENDPOINTS: secure.url,
    ETCD_USERNAME: BRIDGE_USER,
    ETCD_PASSWORD: BRIDGE_PASSWORD,
    ETCD_CA_PEM: secure.pki.caPem,
    ETCD_CERT_PEM: secure.pki.client.certPem,
    ETCD_KEY_PEM: secure.pki.client.keyPem,
  };
}

describe('the etcd-bridge role', () => {
  it('may read and write the pipeline prefixes, read /config/, and nothing else', async () => {
    const bridge = secure.clientAs(BRIDGE_USER, BRIDGE_PASSWORD);
    await secure.root.put('/config/v2.0/ports/role-check').value('{"version": 1}');

    // Allowed: the pipeline's own prefixes.
    await bridge.put('/state/role-check').value('ok');
    await bridge.put('/esi-worker/job_state/role-check').value('{}');
    await bridge.put(`/_etcd-bridge/${GROUP}-role-check/x`).value('1');
    expect(await bridge.get('/config/v2.0/ports/role-check').string()).toBe('{"version": 1}');

    // Denied: anything outside them, and writes to /config/.
    const denied = [
      () => bridge.put('/other/x').value('1'),
      () => bridge.get('/other/x').string(),
      () => bridge.delete().key('/other/x'),
      () => bridge.getAll().prefix('/').keys(),
      () => bridge.put('/config/v2.0/ports/role-check').value('{"version": 2}'),
      () => bridge.put('/esi-worker-other/x').value('1'),
      () =>
        bridge.if('/state/role-check', 'Value', '==', 'ok').then(bridge.put('/other/x').value('1')).commit(),
    ];
    for (const attempt of denied) {
      await expect(attempt()).rejects.toBeInstanceOf(EtcdPermissionDeniedError);
    }
    expect(await secure.root.get('/other/x').string()).toBeNull();
    expect(await secure.root.get('/config/v2.0/ports/role-check').string()).toBe('{"version": 1}');
  });

  it('is what grants access: the client certificate alone (no user) gets nothing', async () => {
    const anonymous = secure.clientAs('', '', { auth: undefined });
    await expect(anonymous.get('/state/role-check').string()).rejects.toBeInstanceOf(
      EtcdPermissionDeniedError,
    );
    await expect(anonymous.put('/state/x').value('1')).rejects.toBeInstanceOf(EtcdPermissionDeniedError);
  });
});

describe('start fails at once, clearly, and writes nothing', () => {
  const cases: Array<{ name: string; etcd: () => Record<string, unknown>; stderr: RegExp }> = [
    {
      name: 'a wrong password',
      etcd: () => ({ ...goodEtcdSettings(), password: WRONG_PASSWORD }),
      stderr: /authentication failed for user \\?"bridge\\?": wrong etcd\.username or etcd\.password/,
    },
    {
      name: 'an unknown user',
      etcd: () => ({ ...goodEtcdSettings(), username: 'nobody' }),
      stderr: /authentication failed for user \\?"nobody\\?"/,
    },
    {
      name: 'a CA that did not sign the server certificate',
      etcd: () => ({ ...goodEtcdSettings(), caFile: secure.pki.otherCaFile }),
      stderr: /server certificate at 127\.0\.0\.1:\d+ is not signed by a CA in etcd\.caFile/,
    },
    {
      name: 'a client certificate from a CA etcd does not trust',
      etcd: () => ({
        ...goodEtcdSettings(),
        certFile: secure.pki.otherClient.certFile,
        keyFile: secure.pki.otherClient.keyFile,
      }),
      stderr: /etcd at 127\.0\.0\.1:\d+ refused the client certificate in etcd\.certFile/,
    },
    {
      name: 'no client certificate',
      etcd: () => ({ ...goodEtcdSettings(), certFile: undefined, keyFile: undefined }),
      stderr: /requires a client certificate: set etcd\.certFile and etcd\.keyFile/,
    },
    {
      name: 'plaintext http:// against the TLS port',
      etcd: () => ({
        endpoints: [secure.url.replace('https://', 'http://')],
        username: BRIDGE_USER,
        password: BRIDGE_PASSWORD,
      }),
      stderr: /http:\/\/127\.0\.0\.1:\d+ serves TLS: use https:\/\//,
    },
    {
      name: 'http:// with TLS settings',
      etcd: () => ({ ...goodEtcdSettings(), endpoints: [secure.url.replace('https://', 'http://')] }),
      stderr: /TLS material is set but an endpoint is http:\/\/; use https:\/\//,
    },
    {
      name: 'no user name',
      etcd: () => ({ ...goodEtcdSettings(), username: undefined, password: undefined }),
      stderr: /etcd requires authentication: set etcd\.username and etcd\.password/,
    },
  ];

  it.each(cases)('with $name', async ({ name, etcd, stderr }) => {
    const config = await writeConfig(name.replace(/\W+/g, '-'), etcd());
    const revisionBefore = await currentRevision(secure.root);
    const bookkeepingBefore = await history(secure.root, '/_etcd-bridge/');
    const pipelineBefore = await history(secure.root, '/esi-worker/');

    const started = Date.now();
    const result = await runCli(['start', '--config', config, '--group', GROUP, '--metrics-port', '0'], {
      env: { LOG_LEVEL: 'debug' },
      timeoutMs: 30_000,
    });
    const seconds = (Date.now() - started) / 1000;

    expect(result.code, result.stderr).not.toBe(0);
    expect(result.code).not.toBeNull();
    // Node and tsx start-up take about a second of it.
    expect(seconds).toBeLessThan(8);
    expect(result.stderr).toMatch(stderr);
    expect(result.stderr).toMatch(/bridge failed to start|etcd-bridge start:/);
    expectNoSecrets(`start with ${name}`, `${result.stdout}\n${result.stderr}`);
    // Nothing written: no campaign, no checkpoint, no lease key, nothing anywhere.
    expect(await currentRevision(secure.root)).toBe(revisionBefore);
    expect(await history(secure.root, '/_etcd-bridge/')).toEqual(bookkeepingBefore);
    expect(await history(secure.root, '/esi-worker/')).toEqual(pipelineBefore);
  });
});

describe('status with bad credentials', () => {
  it('fails (exit 1) without printing the password it was given', async () => {
    const config = await writeConfig('status-wrong-password', {
      ...goodEtcdSettings(),
      password: WRONG_PASSWORD,
    });
    for (const args of [['status', '--json'], ['status']]) {
      const result = await runCli([...args, '--config', config], { timeoutMs: 30_000 });
      expect(result.code, result.stderr).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/authentication failed/);
      expectNoSecrets(args.join(' '), `${result.stdout}\n${result.stderr}`);
    }
  });
});

describe('the bridge over TLS with a client certificate and a password', () => {
  it('runs the seed operation; its output and `status` never show a secret', async () => {
    // Prepare: the bridge as its container runs it, secrets in the environment, debug logs on.
    const bridge = CliProcess.spawn(['start', '--group', GROUP, '--metrics-port', '0'], {
      ...goodEtcdEnvironment(),
      LOG_LEVEL: 'debug',
    });
    await bridge.waitForLine(/elected leader/);
    await waitFor('both routes to start', () => bridge.count(/route starts|route resumes/) === 2);
    const { root } = secure;

    // Act: the seed operation, written by the other components (as root).
    await root.put(seed.config.key).value(seed.config.value);
    await root.put(seed.jobState.key).value('{}');
    await root.put(seed.heatStack.key).value(seed.heatStack.value);

    // Assess: the state record, byte for byte, and the job_state record deleted again.
    const state = await waitFor(
      'the state record',
      async () => (await root.get(seed.state.key).string()) ?? undefined,
    );
    expect(state).toBe(seed.state.value);
    await waitFor('the job_state delete', async () => (await root.get(seed.jobState.key).string()) === null);
    const jobStateWrites = (await history(root, seed.jobState.key)).map((e) => [e.type, e.value]);
    expect(jobStateWrites).toEqual([
      ['put', '{}'],
      ['put', seed.jobState.value],
      ['delete', ''],
    ]);

    // `status`, with the same settings: from the environment, then from a config file.
    await waitFor(
      'a published status',
      async () => (await root.get(`/_etcd-bridge/${GROUP}/status`).string()) ?? undefined,
    );
    const json = await runCli(['status', '--json', '--group', GROUP], { env: goodEtcdEnvironment() });
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as {
      group: string;
      leader: string | null;
      routes: Array<{ checkpoint: string | null }>;
    };
    expect(report.group).toBe(GROUP);
    expect(report.leader).not.toBeNull();
    expect(report.routes.map((r) => r.checkpoint !== null)).toEqual([true, true]);
    const config = await writeConfig('status', goodEtcdSettings());
    const text = await runCli(['status', '--config', config]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(GROUP);
    for (const [what, out] of [
      ['status --json', json],
      ['status', text],
    ] as const) {
      expectNoSecrets(what, `${out.stdout}\n${out.stderr}`);
    }

    // Stop: SIGTERM drains and exits 0.
    bridge.signal('SIGTERM');
    expect(await bridge.exited).toEqual({ code: 0, signal: null });
    expectNoSecrets('the bridge (LOG_LEVEL=debug)', bridge.output);
    // It did log: the leak check looked at real output.
    expect(bridge.output).toMatch(/elected leader/);
  });
});
