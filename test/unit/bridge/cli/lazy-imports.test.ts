/**
 * What `etcd-bridge start` loads before its configuration asks for more: not the AWS SDKs (an
 * in-process bridge with the etcd sink never calls them) and not the local Lambda endpoint. Each
 * costs megabytes of RSS for the life of the process (docs/deploy.md, "Memory").
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { RUNTIME_FLAG } from '../../../../bridge/cli/definitions.js';
import { RUNTIMES } from '../../../../bridge/lambda-endpoint/stage-host.js';

/** The CommonJS packages (the SDKs are CommonJS) a child process has loaded after importing `modules`. */
function packagesLoadedBy(modules: readonly string[]): string[] {
  const script = `
    import { createRequire } from 'node:module';
    for (const m of ${JSON.stringify(modules)}) await import(m.startsWith('.') ? new URL(m, 'file://${process.cwd()}/').href : m);
    const names = Object.keys(createRequire(import.meta.url).cache)
      .map((path) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(path)?.[1])
      .filter(Boolean);
    process.stdout.write(JSON.stringify([...new Set(names)]));`;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  if (result.status !== 0) throw new Error(`child failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as string[];
}

describe('lazy imports of etcd-bridge start', () => {
  it('loads neither AWS SDK with the start command and the bridge', () => {
    const loaded = packagesLoadedBy(['./bridge/cli/start.ts', './bridge/bridge.ts']);
    expect(loaded).toContain('etcd3');
    expect(loaded.filter((name) => name.startsWith('@aws-sdk/'))).toEqual([]);
  }, 30_000);

  it('sees an SDK once something loads it (the check above can fail)', () => {
    const loaded = packagesLoadedBy(['./bridge/cli/start.ts', '@aws-sdk/client-sqs']);
    expect(loaded).toContain('@aws-sdk/client-sqs');
  }, 30_000);

  it("declares --runtime in the CLI's definitions with the endpoint's runtimes", () => {
    expect(RUNTIME_FLAG.value.split('|')).toEqual([...RUNTIMES]);
    expect(RUNTIMES).toContain(RUNTIME_FLAG.default);
  });
});
