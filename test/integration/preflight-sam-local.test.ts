/**
 * `sam local start-lambda`, which the README tells operators to run the bridge against, serves only
 * RequestResponse invokes: GetFunction is a path it does not serve (404 LocalServiceException) and a
 * DryRun invoke is refused with 501 NotImplemented (aws-sam-cli
 * samcli/local/lambda_service/local_lambda_invoke_service.py `validate_request`,
 * lambda_error_responses.py `not_implemented_locally`, `generic_path_not_found`). Here an HTTP
 * front that answers exactly as SAM does, and passes RequestResponse invokes to the real local
 * endpoint. The bridge's invocations work through it; the preflight must not refuse it.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBridgeConfig } from '../../bridge/config.js';
import { LambdaInvoker } from '../../bridge/invoke/lambda-sdk.js';
import { type LambdaEndpoint, startLambdaEndpoint } from '../../bridge/lambda-endpoint/server.js';
import { stageFunctions } from '../../bridge/lambda-endpoint/stage-functions.js';
import { preflight } from '../../bridge/preflight/preflight.js';
import { formatProblem } from '../../bridge/preflight/problem.js';

function samError(status: number, errorType: string, type: string, message: string) {
  return {
    status,
    headers: { 'x-amzn-errortype': errorType, 'Content-Type': 'application/json' },
    body: JSON.stringify({ Type: type, Message: message }),
  };
}

describe('preflight against sam local start-lambda', () => {
  let endpoint: LambdaEndpoint;
  let sam: Server;
  let samUrl: string;

  beforeAll(async () => {
    endpoint = await startLambdaEndpoint({ functions: await stageFunctions(), port: 0 });
    sam = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const reply = (r: ReturnType<typeof samError>) => res.writeHead(r.status, r.headers).end(r.body);
        if (req.method !== 'POST' || !/^\/2015-03-31\/functions\/[^/]+\/invocations$/.test(req.url ?? ''))
          return reply(samError(404, 'LocalServiceException', 'LocalService', 'PathNotFoundException'));
        const type = req.headers['x-amz-invocation-type'] ?? 'RequestResponse';
        if (type !== 'RequestResponse')
          return reply(
            samError(
              501,
              'NotImplemented',
              'LocalService',
              `invocation-type: ${type} is not supported. RequestResponse is only supported.`,
            ),
          );
        const forward = request(
          `${endpoint.url}${req.url}`,
          { method: 'POST', headers: { 'content-type': 'application/json' } },
          (up) => {
            res.writeHead(up.statusCode ?? 500, up.headers);
            up.pipe(res);
          },
        );
        forward.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((resolve) => sam.listen(0, '127.0.0.1', resolve));
    samUrl = `http://127.0.0.1:${(sam.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => sam?.close(resolve));
    await endpoint?.close();
  });

  it('the bridge can invoke both functions through it, so the preflight passes', async () => {
    const invoker = new LambdaInvoker({ endpoint: samUrl, timeoutMs: 10_000 });
    try {
      for (const route of ['heat-stacks', 'job-state'])
        expect(await invoker.invoke(route, { route, records: [] })).toEqual({
          results: [],
          batchItemFailures: [],
        });
    } finally {
      await invoker.close();
    }
    const config = parseBridgeConfig({ invoke: { mode: 'lambda', endpoint: samUrl } });
    const problems = await preflight(config, { env: {} });
    expect(problems.map(formatProblem)).toEqual([]);
  });
});
