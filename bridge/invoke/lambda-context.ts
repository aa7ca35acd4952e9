/**
 * A Lambda `Context` for running a stage handler in-process (local endpoint, tests), shaped like the
 * one the Node.js managed runtime passes, so middy and Powertools (which read awsRequestId,
 * functionName, invokedFunctionArn, memoryLimitInMB and getRemainingTimeInMillis) behave as in AWS.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/** A stage function as the bridge runs it: async only (the callback style is not supported). */
export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface LambdaContextOptions {
  functionName: string;
  /** The function's configured timeout; getRemainingTimeInMillis() counts down from it. */
  timeoutMs: number;
  /** Reuse an id across retries of one async invocation, as AWS does; a random UUID otherwise. */
  requestId?: string;
  /** AWS default: 128. */
  memoryLimitInMB?: number;
}

/** Region and account of the local endpoint: not a real region, so an ARN never collides with AWS. */
export const LOCAL_REGION = 'local';
export const LOCAL_ACCOUNT_ID = '000000000000';

/** The ARN under which the local endpoint exposes a function (it also accepts it as FunctionName). */
export function localFunctionArn(functionName: string): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${functionName}`;
}

export function createLambdaContext(options: LambdaContextOptions): Context {
  const { functionName, timeoutMs } = options;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(`timeoutMs must be a positive number, got ${timeoutMs}`);
  }
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: localFunctionArn(functionName),
    memoryLimitInMB: String(options.memoryLimitInMB ?? 128),
    awsRequestId: options.requestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: environmentLogStream(functionName),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    // The pre-async completion methods would let a handler "finish" without its promise settling,
    // which the runner could not observe: fail loudly instead of silently doing nothing.
    done: unsupported('done'),
    fail: unsupported('fail'),
    succeed: unsupported('succeed'),
  };
}

/**
 * In AWS a log stream belongs to an execution environment, not to an invocation: every invocation
 * an environment serves logs to the stream it got when it started. In-process, this process is
 * each function's one environment, so its stream is named once per function (which also keeps 16
 * random bytes off every invocation).
 */
const environmentStreams = new Map<string, string>();

function environmentLogStream(functionName: string): string {
  let stream = environmentStreams.get(functionName);
  if (stream === undefined) {
    stream = logStreamName(new Date());
    environmentStreams.set(functionName, stream);
  }
  return stream;
}

/** AWS's format: `YYYY/MM/DD/[$LATEST]<32 hex chars>` (UTC date of the execution environment). */
function logStreamName(now: Date): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

function unsupported(method: string): (...args: unknown[]) => never {
  return () => {
    throw new Error(`context.${method}() is not supported: return from (or throw in) the async handler`);
  };
}
