import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inputsHash, readAssembly } from '../../../../../bridge/lambda-endpoint/runtime/deployable.js';

const stageFunction = (service: string | undefined, asset: string) => ({
  Type: 'AWS::Lambda::Function',
  Properties: {
    Handler: 'index.handler',
    Runtime: 'nodejs24.x',
    MemorySize: 512,
    Timeout: 12,
    ReservedConcurrentExecutions: 3,
    LoggingConfig: { LogFormat: 'JSON' },
    Environment: { Variables: service ? { POWERTOOLS_SERVICE_NAME: service, EXTRA: 'x' } : {} },
  },
  Metadata: { 'aws:asset:path': asset },
});

describe('reading the stage functions from a cloud assembly', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'assembly-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("takes each stage function's bundle, handler, memory, timeout, environment and log format from its template", async () => {
    // Prepare
    const template = {
      Resources: {
        Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
        HeatStacksFunction: stageFunction('heat-stacks', 'asset.abc'),
        // CDK's own helper functions carry no POWERTOOLS_SERVICE_NAME: not a stage.
        Helper: stageFunction(undefined, 'asset.def'),
      },
    };
    await writeFile(join(dir, 'Stack.template.json'), JSON.stringify(template));

    // Act
    const functions = await readAssembly(dir);

    // Assess
    expect(functions).toEqual([
      {
        name: 'heat-stacks',
        taskRoot: join(dir, 'asset.abc'),
        handler: 'index.handler',
        runtime: 'nodejs24.x',
        memoryMiB: 512,
        timeoutSeconds: 12,
        environment: { POWERTOOLS_SERVICE_NAME: 'heat-stacks', EXTRA: 'x' },
        logFormat: 'JSON',
        reservedConcurrency: 3,
      },
    ]);
  });

  it('refuses an asset path that leaves the assembly', async () => {
    const template = { Resources: { F: stageFunction('job-state', '../../etc') } };
    await writeFile(join(dir, 'Stack.template.json'), JSON.stringify(template));
    await expect(readAssembly(dir)).rejects.toThrow(/leaves the assembly/);
  });

  it('the cache key changes when an input file changes', async () => {
    await writeFile(join(dir, 'package-lock.json'), '{}');
    const before = await inputsHash(dir);
    expect(await inputsHash(dir)).toBe(before);
    await writeFile(join(dir, 'package-lock.json'), '{"changed":true}');
    expect(await inputsHash(dir)).not.toBe(before);
  });
});
