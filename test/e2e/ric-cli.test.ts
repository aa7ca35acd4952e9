/**
 * `etcd-bridge lambda-endpoint --runtime ric --port P`, the command a user runs, answering the real
 * @aws-sdk/client-lambda for both stages from the deployable bundles, with AWS's shapes for an
 * unknown function, a payload over 6 MB, a malformed batch and DryRun; and on SIGTERM it exits 0
 * leaving no execution environment behind.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../bridge/etcd/embedded-etcd.js';
import { ensureAssembly } from '../../bridge/lambda-endpoint/runtime/deployable.js';
import { runCli } from '../helpers/cli.js';
import { seed } from '../helpers/seed.js';
import { CliProcess, killAllCliProcesses } from '../integration/security/cli-process.js';

const SIX_MB = 6 * 1024 * 1024;

describe('etcd-bridge lambda-endpoint --runtime ric', () => {
  let cli: CliProcess;
  let lambda: LambdaClient;
  let port: number;

  beforeAll(async () => {
    // Built here (once per source change) so that the command's own start stays quick.
    await ensureAssembly(() => {});
    port = await freePort();
    cli = CliProcess.spawn(['lambda-endpoint', '--runtime', 'ric', '--port', String(port)], {
      LOG_LEVEL: 'info',
    });
    const line = await cli.waitForLine(/^AWS_ENDPOINT_URL_LAMBDA=/, 60_000);
    lambda = new LambdaClient({
      endpoint: line.slice('AWS_ENDPOINT_URL_LAMBDA='.length),
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  }, 240_000);

  afterAll(async () => {
    lambda?.destroy();
    await killAllCliProcesses();
  });

  const invoke = (
    FunctionName: string,
    payload: string | Uint8Array,
    extra: Partial<InvokeCommand['input']> = {},
  ) =>
    lambda.send(
      new InvokeCommand({
        FunctionName,
        Payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
        ...extra,
      }),
    );
  const json = (out: InvokeCommandOutput): unknown => JSON.parse(Buffer.from(out.Payload ?? []).toString());

  it('listens on the port it was given', () => {
    expect(cli.output).toContain(`AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:${port}`);
  });

  it('heat-stacks: the seed heat stack record in, record (2) out, byte for byte', async () => {
    const batch = {
      route: 'heat-stacks',
      records: [
        {
          id: 'a',
          type: 'put',
          key: seed.heatStack.key,
          value: seed.heatStack.value,
          modRevision: '9',
          reads: {},
        },
      ],
    };
    const out = await invoke('heat-stacks', JSON.stringify(batch));
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBeUndefined();
    expect(json(out)).toMatchObject({
      results: [{ id: 'a', mutations: [{ op: 'put', key: seed.jobState.key, value: seed.jobState.value }] }],
    });
  });

  it('job-state: record (2) and its reads in, record (3) out byte for byte, and the guarded delete', async () => {
    const batch = {
      route: 'job-state',
      records: [
        {
          id: 'b',
          type: 'put',
          key: seed.jobState.key,
          value: seed.jobState.value,
          modRevision: '10',
          reads: {
            [seed.config.key]: seed.config.value,
            [seed.state.key]: null,
            [seed.heatStack.key]: seed.heatStack.value,
          },
        },
      ],
    };
    const out = await invoke('job-state', JSON.stringify(batch));
    expect(out.FunctionError).toBeUndefined();
    expect(json(out)).toMatchObject({
      results: [
        {
          id: 'b',
          mutations: [
            { op: 'put', key: seed.state.key, value: seed.state.value },
            { op: 'delete', key: seed.jobState.key, ifModRevision: '10' },
          ],
        },
      ],
    });
  });

  it('an unknown function: ResourceNotFoundException, 404', async () => {
    const error = await invoke('no-such-function', '{}').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect((error as ResourceNotFoundException).$metadata.httpStatusCode).toBe(404);
    expect((error as Error).message).toBe(
      'Function not found: arn:aws:lambda:local:000000000000:function:no-such-function',
    );
  });

  it('a payload over 6 MB: RequestEntityTooLargeException, 413', async () => {
    type ApiError = { name: string; $metadata: { httpStatusCode: number }; message: string };
    // The endpoint answers from the declared length and closes the connection without reading the
    // rest (as AWS does); on a loaded machine the close can reset the socket before the SDK has read
    // the answer (the SDK then names it TimeoutError). The answer itself is what is checked here.
    let error: ApiError | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      error = (await invoke('heat-stacks', Buffer.alloc(SIX_MB + 1, 0x20)).catch(
        (e: unknown) => e,
      )) as ApiError;
      if (error.name !== 'TimeoutError') break;
    }
    if (!error) throw new Error('no answer');
    expect(error.name).toBe('RequestEntityTooLargeException');
    expect(error.$metadata.httpStatusCode).toBe(413);
    expect(error.message).toBe(
      `Request must be smaller than ${SIX_MB} bytes for the InvokeFunction operation`,
    );
  });

  it('a malformed batch: the function throws, FunctionError Unhandled with its error object', async () => {
    const out = await invoke('job-state', JSON.stringify({ route: 'job-state', records: 'not a list' }));
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    const error = json(out) as { errorType: string; errorMessage: string; trace: string[] };
    // Powertools' parser rejects the batch before the stage runs.
    expect(error.errorType).toBe('ParseError');
    expect(error.errorMessage).toBe('Failed to parse schema');
    expect(Array.isArray(error.trace)).toBe(true);
  });

  it('DryRun: 204, nothing run', async () => {
    const out = await invoke('heat-stacks', '{}', { InvocationType: 'DryRun' });
    expect(out.StatusCode).toBe(204);
  });

  it('SIGTERM: exits 0 and leaves no execution environment running', async () => {
    // The command is a child of this test process; the environments are its children.
    const command = childPids(process.pid).find((pid) => cmdline(pid).includes('lambda-endpoint'));
    const environments = childPids(command).filter((pid) => cmdline(pid).includes('aws-lambda-ric'));
    expect(environments.length).toBeGreaterThanOrEqual(2);
    cli.signal('SIGTERM');
    expect((await cli.exited).code).toBe(0);
    for (const pid of environments) expect(alive(pid)).toBe(false);
  });
});

describe('replay and dev with --runtime ric', () => {
  it('replay --runtime ric: every expected write of the seed trace matches, through the deployable bundles', async () => {
    const trace = fileURLToPath(new URL('../../examples/traces/seed-operation.jsonl', import.meta.url));
    const result = await runCli(['replay', '--trace', trace, '--runtime', 'ric'], { timeoutMs: 240_000 });
    expect(result.stdout, result.stderr).toMatch(/3\/3 expected writes matched, 0 extra .*: OK/);
    expect(result.code).toBe(0);
  }, 250_000);

  it('dev --once --runtime ric: the seed demo through the deployable bundles, exit 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ric-dev-'));
    try {
      const result = await runCli(
        [
          'dev',
          '--once',
          '--runtime',
          'ric',
          '--data-dir',
          dataDir,
          '--etcd-port',
          '0',
          '--lambda-port',
          '0',
          '--metrics-port',
          '0',
        ],
        { timeoutMs: 240_000 },
      );
      expect(result.stdout).toContain('runtime ric');
      expect(result.stdout).toContain('Records (1), (2) and (3) are identical to the seed.');
      expect(result.code).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 250_000);
});

/** The direct children of a process (its execution environments). */
function childPids(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
