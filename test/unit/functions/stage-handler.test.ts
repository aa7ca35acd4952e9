import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLambdaContext } from '../../../bridge/invoke/lambda-context.js';
import { createStageHandler } from '../../../functions/stage-handler.js';
import { heatStacksStage, type StageRequest } from '../../../shared/index.js';
import { HEAT_KEY, heatStackText, stageRecord } from '../../helpers/records.js';

const request: StageRequest = {
  route: 'heat-stacks',
  records: [stageRecord({ key: HEAT_KEY, value: heatStackText({}) })],
};

const context = () => createLambdaContext({ functionName: 'heat-stacks', timeoutMs: 1_000 });

/** What the handler printed on stdout and stderr (Powertools writes to both streams directly). */
function captureOutput(): { text: () => string } {
  const chunks: string[] = [];
  const record = (chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(record);
  vi.spyOn(process.stderr, 'write').mockImplementation(record);
  return { text: () => chunks.join('') };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('createStageHandler', () => {
  it('with metrics disabled (the in-process host), runs batches at once without a metrics warning', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    const handler = createStageHandler(heatStacksStage);
    const output = captureOutput();
    const responses = await Promise.all(Array.from({ length: 8 }, () => handler(request, context())));
    vi.restoreAllMocks();
    for (const response of responses) expect(response.results).toHaveLength(1);
    expect(output.text()).not.toContain('No application metrics');
    expect(output.text()).not.toContain('RecordsProcessed');
  });

  it('with metrics on (Lambda), publishes each invocation its own EMF line', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const handler = createStageHandler(heatStacksStage);
    const output = captureOutput();
    await handler(request, context());
    await handler(request, context());
    vi.restoreAllMocks();
    const emf = output
      .text()
      .split('\n')
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(emf).toHaveLength(2);
    for (const document of emf) {
      expect(document.RecordsProcessed).toBe(1);
      expect(document.RecordsFailed).toBe(0);
    }
    expect(output.text()).not.toContain('No application metrics');
  });
});

describe('createStageHandler, batches at once (the in-process host)', () => {
  it("logs each record's failure with the request id of the invocation it failed in", async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    const handler = createStageHandler(heatStacksStage);
    const output = captureOutput();
    const ids = ['a', 'b', 'c'];
    await Promise.all(
      ids.map((id) =>
        handler(
          { route: 'heat-stacks', records: [stageRecord({ id, key: HEAT_KEY, value: 'not json' })] },
          createLambdaContext({ functionName: 'heat-stacks', timeoutMs: 1_000, requestId: `request-${id}` }),
        ),
      ),
    );
    vi.restoreAllMocks();
    const failures = output
      .text()
      .split('\n')
      .filter((line) => line.includes('"record failed"'))
      .map((line) => JSON.parse(line) as { itemIdentifier: string; function_request_id: string });

    expect(failures.map((f) => [f.itemIdentifier, f.function_request_id])).toEqual(
      ids.map((id) => [id, `request-${id}`]),
    );
  });
});
