/**
 * Runs the stage functions inside the bridge process: the embedded default and the tests. The
 * handler is the same middy handler Lambda runs, with a Lambda context of our own.
 */
import type { StageRequest, StageResponse } from '../../shared/index.js';
import { errorMessage, InvokeError } from '../errors.js';
import { isStageName, loadStageHandler } from '../stages.js';
import type { Invoker } from './invoker.js';
import { createLambdaContext, type LambdaHandler } from './lambda-context.js';
import { checkResponse } from './response.js';

export class InProcessInvoker implements Invoker {
  private readonly handlers = new Map<string, Promise<LambdaHandler>>();

  constructor(
    private readonly timeoutMs = 30_000,
    /** Extra handlers by function name (tests register faulty functions here). */
    private readonly extra: Readonly<Record<string, LambdaHandler>> = {},
  ) {}

  async invoke(functionName: string, request: StageRequest): Promise<StageResponse> {
    const handler = await this.handlerFor(functionName);
    let payload: unknown;
    try {
      payload = await withTimeout(
        handler(request, createLambdaContext({ functionName, timeoutMs: this.timeoutMs })),
        this.timeoutMs,
        functionName,
      );
    } catch (error) {
      if (error instanceof InvokeError) throw error;
      // A handler that throws is Lambda's "Unhandled" function error: the batch is retried.
      throw new InvokeError(`${functionName}: ${errorMessage(error)}`, 'Unhandled', { cause: error });
    }
    return checkResponse(functionName, request, payload);
  }

  private handlerFor(functionName: string): Promise<LambdaHandler> {
    let handler = this.handlers.get(functionName);
    if (!handler) {
      const extra = this.extra[functionName];
      if (extra) handler = Promise.resolve(extra);
      else if (isStageName(functionName)) handler = loadStageHandler(functionName);
      else throw new InvokeError(`no in-process function named ${functionName}`, 'ResourceNotFoundException');
      this.handlers.set(functionName, handler);
    }
    return handler;
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, functionName: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new InvokeError(`${functionName}: timed out after ${timeoutMs} ms`, 'Sandbox.Timedout')),
      timeoutMs,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
