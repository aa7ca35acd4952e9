/**
 * The one shape of a stage function: middy, the Powertools parser (the batch contract as a zod
 * schema), logger and metrics around a pure stage from `shared/`. A malformed batch fails the
 * parser and the handler throws, as Lambda expects; a bad record becomes a batchItemFailure.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import {
  METRICS_NAMESPACE,
  runStageBatch,
  type Stage,
  type StageRequest,
  StageRequestSchema,
  type StageResponse,
} from '../shared/index.js';

/** Powertools Metrics that can say whether they print anything (its own rule, from the environment). */
class StageMetrics extends Metrics {
  get publishes(): boolean {
    return !this.isDisabled();
  }
}

export function createStageHandler(stage: Stage) {
  const logger = new Logger({ serviceName: stage.name });
  const metrics = new StageMetrics({ namespace: METRICS_NAMESPACE, serviceName: stage.name });
  // Disabled, the metrics are not collected at all. That is the in-process host (bridge/stages.ts),
  // which calls one handler for several batches at once: they would share one store, the first to
  // finish would flush everyone's metrics and each of the others warn "No application metrics to
  // publish". Lambda runs one invocation at a time in an instance, with metrics on.
  const publishes = metrics.publishes;

  const processBatch = async (request: StageRequest, context: Context): Promise<StageResponse> => {
    const response = runStageBatch(stage, request);
    if (publishes) {
      metrics.addMetric('RecordsProcessed', MetricUnit.Count, response.results.length);
      metrics.addMetric('RecordsFailed', MetricUnit.Count, response.batchItemFailures.length);
    }
    // The logger's Lambda context is one per handler, and the in-process host runs batches at once:
    // by now it may be another invocation's. This invocation's own request id goes on its lines.
    for (const failure of response.batchItemFailures) {
      logger.warn('record failed', { ...failure, function_request_id: context.awsRequestId });
    }
    return response;
  };

  const handler = middy(processBatch).use(injectLambdaContext(logger));
  if (publishes) handler.use(logMetrics(metrics));
  return handler.use(parser({ schema: StageRequestSchema }));
}
