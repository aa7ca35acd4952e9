/**
 * `etcd-bridge lambda-endpoint`: the AWS Lambda Invoke API on this machine, hosting both stage
 * functions, so the bridge (or anything using @aws-sdk/client-lambda) can invoke them over HTTP.
 * `--runtime ric` serves the bundles `cdk synth` deploys, under aws-lambda-ric on Node 24.
 */
import { Etcd3 } from 'etcd3';
import { BridgeConfigSchema } from '../config.js';
import { asyncFailuresToEtcd } from '../dlq/async-invoke-failures.js';
import { keyspaceFor } from '../keyspace.js';
import { startLambdaEndpoint } from '../lambda-endpoint/server.js';
import { parseRuntime, stageFunctionHost } from '../lambda-endpoint/stage-host.js';
import { type BridgeLogger, createLogger } from '../log.js';
import { LAMBDA_ENDPOINT_COMMAND } from './definitions.js';
import { listenOrExplain } from './ports.js';
import { CliUsageError, parseCommandLine } from './usage.js';

export async function lambdaEndpointCommand(args: string[]): Promise<number> {
  // Flags, defaults and help text: bridge/cli/definitions.ts.
  const { values, positionals } = parseCommandLine('lambda-endpoint', args, LAMBDA_ENDPOINT_COMMAND.flags);
  if (positionals.length > 0)
    throw new CliUsageError(`lambda-endpoint: unexpected argument ${positionals[0]}`);
  const port = Number(values.port);
  if (!/^[0-9]+$/.test(values.port ?? '') || port > 65_535)
    throw new CliUsageError(`lambda-endpoint: --port must be 0-65535, got ${values.port}`);
  // Unset: 30 s in-process; under ric, each function's own Timeout from the template.
  const timeoutMs = values['timeout-ms'] === undefined ? undefined : Number(values['timeout-ms']);
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs <= 0))
    throw new CliUsageError('lambda-endpoint: --timeout-ms must be a positive integer');
  const runtime = parseRuntime(values.runtime);
  if (!runtime)
    throw new CliUsageError(`lambda-endpoint: --runtime must be inprocess or ric, got ${values.runtime}`);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new CliUsageError(
      `lambda-endpoint: --concurrency must be a positive integer, got ${values.concurrency}`,
    );

  // --etcd and --group as `start` takes them: a bad one would lose the async dead letters later.
  let endpoints: string[] | undefined;
  if (values.etcd !== undefined) {
    const given = values.etcd.split(',').map((url) => url.trim());
    const checked = BridgeConfigSchema.safeParse({ etcd: { endpoints: given }, group: values.group });
    if (!checked.success) {
      const issue = checked.error.issues[0];
      const flag = issue?.path[0] === 'group' ? '--group' : '--etcd';
      throw new CliUsageError(`lambda-endpoint: ${flag}: ${issue?.message} (${issue?.path.join('.')})`);
    }
    endpoints = checked.data.etcd.endpoints;
  }

  const logger = createLogger({ serviceName: 'lambda-endpoint' });
  // Event invocations that fail for good go to the stage's dead-letter prefix when etcd is given.
  const client = endpoints ? new Etcd3({ hosts: endpoints }) : undefined;
  const functionHost = await stageFunctionHost({
    runtime,
    concurrency,
    logger,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  const listen = () =>
    startLambdaEndpoint({
      functionHost,
      host: values.host,
      port,
      log: endpointLog(logger),
      ...(client
        ? {
            onAsyncFailure: asyncFailuresToEtcd(client, keyspaceFor(values.group), (m, f) =>
              logger.log('warn', m, f),
            ),
          }
        : {}),
    });
  // A busy port exits 2 naming it and --port, not with an EADDRINUSE stack trace.
  const endpoint = await listenOrExplain(listen, {
    port,
    host: values.host,
    flag: '--port',
    off: '0 picks a free one',
    hostFlag: '--host',
  }).catch(async (error: unknown) => {
    client?.close();
    await functionHost.close();
    throw error;
  });
  logger.log('info', 'Lambda endpoint listening', {
    url: endpoint.url,
    functions: functionHost.names.join(', '),
    runtime,
  });
  process.stdout.write(`AWS_ENDPOINT_URL_LAMBDA=${endpoint.url}\n`);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await endpoint.idle();
  await endpoint.close();
  client?.close();
  return 0;
}

/** The endpoint's entries ({level, msg, ...}) into our logger; one line per invocation is debug. */
export function endpointLog(logger: BridgeLogger): (entry: Record<string, unknown>) => void {
  return ({ level, msg, ...fields }) => {
    logger.log(level === 'error' ? 'error' : level === 'warn' ? 'warn' : 'debug', String(msg), fields);
  };
}
