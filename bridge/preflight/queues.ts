/**
 * Does each route's SQS dead-letter queue answer? GetQueueAttributes is the cheapest call that
 * proves the URL, the region and the credentials are right; a record that fails for good would
 * otherwise find out, and keep its key from going on (the marker is committed only after the send).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { BridgeConfig } from '../config.js';
import { errorMessage } from '../errors.js';
import { type PreflightProblem, routeEnv } from './problem.js';

export async function checkDeadLetterQueues(
  client: SQSClient,
  config: Pick<BridgeConfig, 'routes' | 'deadLetter'>,
  timeoutMs: number,
): Promise<PreflightProblem[]> {
  if (config.deadLetter.sink !== 'sqs') return [];
  // Loaded here, not at the top: a bridge without the SQS sink never loads the SDK.
  const { GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
  const problems: PreflightProblem[] = [];
  for (const route of config.routes) {
    const url = config.deadLetter.queueUrls[route.name];
    if (url === undefined) continue; // the config schema already refuses this
    try {
      await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      const code = (error as { code?: unknown } | null)?.code;
      problems.push({
        subject: `route ${route.name}`,
        problem: `dead-letter queue ${url} does not answer GetQueueAttributes (${name}: ${errorMessage(error)}${typeof code === 'string' ? ` ${code}` : ''})`,
        fix: `set ${routeEnv(route.name, 'DLQ_URL')} or deadLetter.queueUrls["${route.name}"] in the config (and AWS credentials / deadLetter.region for it)`,
      });
    }
  }
  return problems;
}
