/**
 * What runs the functions behind the endpoint: in this process (the handler called directly, the
 * fast default), or in execution environments running AWS's runtime client (runtime/runtime-host.ts).
 * The endpoint itself only speaks the Invoke API; a host turns one invocation into an outcome.
 */
import type { LambdaHandler } from '../invoke/lambda-context.js';
import { type InvocationOutcome, type RegisteredFunction, runInvocation } from './invocation.js';

export interface HostedInvocation {
  readonly functionName: string;
  readonly requestId: string;
  /** The request body exactly as the caller sent it (`{}` when it sent none). */
  readonly payload: string;
  /** The same, parsed (the endpoint rejected it already if it is not JSON). */
  readonly event: unknown;
  /** `X-Amz-Log-Type: Tail`: the caller wants the invocation's log tail. */
  readonly wantsLogTail: boolean;
  /** An Event invocation waits for an environment; a synchronous one is throttled instead. */
  readonly waitForCapacity: boolean;
  /** Aborted when the endpoint closes: an invocation still waiting for an environment gives up. */
  readonly signal?: AbortSignal;
}

export interface HostedOutcome {
  readonly outcome: InvocationOutcome;
  /** The last 4 KB of the invocation's log, base64, when asked for and known. */
  readonly logTail?: string;
}

export interface FunctionHost {
  /** The function names served (AWS's names: heat-stacks, job-state). */
  readonly names: readonly string[];
  has(name: string): boolean;
  /** Never rejects for a failure of the function; may reject with a LambdaApiError (e.g. a 429). */
  invoke(invocation: HostedInvocation): Promise<HostedOutcome>;
  close(): Promise<void>;
}

const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** The handlers called in this process, each bounded by its timeout. */
export function inProcessHost(
  functions: ReadonlyArray<{ name: string; handler: LambdaHandler; timeoutMs: number }>,
  maxPayloadBytes: number,
): FunctionHost {
  // A Map, not an object: a name like `__proto__` or `constructor` must not reach a prototype.
  const registry = new Map<string, RegisteredFunction>();
  for (const { name, handler, timeoutMs } of functions) {
    if (!FUNCTION_NAME.test(name)) throw new Error(`invalid Lambda function name: ${JSON.stringify(name)}`);
    if (registry.has(name)) throw new Error(`function ${name} is registered twice`);
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new Error(`function ${name}: timeoutMs must be positive`);
    registry.set(name, { name, handler, timeoutMs });
  }
  return {
    names: [...registry.keys()],
    has: (name) => registry.has(name),
    async invoke({ functionName, event, requestId }) {
      const fn = registry.get(functionName);
      if (!fn) throw new Error(`no function ${functionName}`);
      return { outcome: await runInvocation(fn, event, requestId, maxPayloadBytes) };
    },
    close: async () => {},
  };
}
