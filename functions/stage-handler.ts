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

export function createStageHandler(stage: Stage) {
  const logger = new Logger({ serviceName: stage.name });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: stage.name });

  const processBatch = async (request: StageRequest, _context: Context): Promise<StageResponse> => {
    const response = runStageBatch(stage, request);
    metrics.addMetric('RecordsProcessed', MetricUnit.Count, response.results.length);
    metrics.addMetric('RecordsFailed', MetricUnit.Count, response.batchItemFailures.length);
    for (const failure of response.batchItemFailures) {
      logger.warn('record failed', { ...failure });
    }
    return response;
  };

  return middy(processBatch)
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics))
    .use(parser({ schema: StageRequestSchema }));
}
