/**
 * A Lambda-like invoke latency for the local endpoint: the function host the endpoint is given,
 * with a fixed delay before each invocation runs — what a real Lambda call costs beyond the
 * function itself (the network to the Lambda service and its routing, ~20 ms). The endpoint is
 * unchanged; the bridge sees a slower function and must hide it with its concurrency and batches.
 */
import type { FunctionHost } from '../bridge/lambda-endpoint/function-host.js';

/** A real Lambda invocation's cost beyond the function's own run time, as issue #13 takes it. */
export const LAMBDA_LIKE_DELAY_MS = 20;

export function delayedHost(host: FunctionHost, delayMs: number): FunctionHost {
  if (!(delayMs >= 0)) throw new RangeError(`delay must be >= 0 ms, got ${delayMs}`);
  return {
    names: host.names,
    has: (name) => host.has(name),
    async invoke(invocation) {
      await new Promise<void>((resolve) => setTimeout(resolve, delayMs));
      return host.invoke(invocation);
    },
    close: () => host.close(),
  };
}
