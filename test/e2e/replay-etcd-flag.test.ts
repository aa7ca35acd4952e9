import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';

const seedTrace = fileURLToPath(new URL('../../examples/traces/seed-operation.jsonl', import.meta.url));

describe('replay --etcd URL,... (as the README and --help give it)', () => {
  let fixture: EtcdFixture;
  beforeAll(async () => {
    fixture = await startEtcd();
  });
  afterAll(() => stopEtcd());

  it('takes every member, comma-separated, and an endpoint written with a trailing /', async () => {
    const url = fixture.etcd.clientUrl;
    const list = await runCli(['replay', '--trace', seedTrace, '--etcd', `${url},${url}`]);
    expect({ code: list.code, stderr: list.stderr }).toEqual({ code: 0, stderr: '' });
    expect(list.stdout).toContain('3/3 expected writes matched');

    const slash = await runCli(['replay', '--trace', seedTrace, '--etcd', `${url}/`]);
    expect({ code: slash.code, stderr: slash.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('a bad endpoint is a bad flag value: exit 2 naming --etcd', async () => {
    const bad = await runCli(['replay', '--trace', seedTrace, '--etcd', 'nonsense']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--etcd');
    expect(bad.stderr).toContain('nonsense');
  });
});
