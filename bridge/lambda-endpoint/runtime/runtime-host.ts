/**
 * `--runtime ric`: the functions served from their deployable bundles, each in execution
 * environments of its own that run aws-lambda-ric on Node 24 (see environment.ts).
 */
import { LOCAL_REGION } from '../../invoke/lambda-context.js';
import type { FunctionHost, HostedOutcome } from '../function-host.js';
import type { DeployableFunction } from './deployable.js';
import { EnvironmentPool } from './environment-pool.js';
import { logTail } from './invocation-log.js';
import type { RuntimeTools } from './runtime-tools.js';

/** A new AWS account's concurrency limit; the functions' ReservedConcurrentExecutions win over it. */
export const DEFAULT_CONCURRENCY = 10;

export interface RuntimeHostOptions {
  readonly functions: readonly DeployableFunction[];
  readonly tools: RuntimeTools;
  /** Environments per function at most (unless the template reserves a concurrency). */
  readonly concurrency?: number;
  /** AWS_REGION inside the environments. */
  readonly region?: string;
  readonly maxPayloadBytes: number;
  /** Overrides every function's template timeout (tests of the timeout path). */
  readonly timeoutMs?: number;
  /** Each line the functions write (their CloudWatch log, here). */
  readonly onFunctionLog?: (functionName: string, line: string) => void;
  /** Each finished invocation: cold or warm, its duration, the environment's memory. */
  readonly onInvocation?: (report: InvocationReport) => void;
}

export interface InvocationReport {
  readonly functionName: string;
  readonly requestId: string;
  readonly coldStart: boolean;
  readonly initDurationMs: number | undefined;
  readonly durationMs: number;
  readonly errorType: string | undefined;
}

export interface RuntimeHost extends FunctionHost {
  /** The pool of a function (for measurements and tests). */
  pool(name: string): EnvironmentPool | undefined;
}

export function runtimeHost(options: RuntimeHostOptions): RuntimeHost {
  const pools = new Map<string, EnvironmentPool>();
  for (const fn of options.functions) {
    if (pools.has(fn.name)) throw new Error(`function ${fn.name} appears twice in the templates`);
    const reserved = fn.reservedConcurrency !== undefined && fn.reservedConcurrency > 0;
    pools.set(
      fn.name,
      new EnvironmentPool({
        spec: {
          functionName: fn.name,
          taskRoot: fn.taskRoot,
          handler: fn.handler,
          memoryMiB: fn.memoryMiB,
          timeoutMs: options.timeoutMs ?? fn.timeoutSeconds * 1000,
          environment: fn.environment,
          logFormat: fn.logFormat,
          region: options.region ?? process.env.AWS_REGION ?? LOCAL_REGION,
          maxPayloadBytes: options.maxPayloadBytes,
        },
        tools: options.tools,
        concurrency: reserved ? (fn.reservedConcurrency ?? 1) : (options.concurrency ?? DEFAULT_CONCURRENCY),
        reserved,
        onLog: (line) => options.onFunctionLog?.(fn.name, line),
      }),
    );
  }
  return {
    names: [...pools.keys()],
    has: (name) => pools.has(name),
    pool: (name) => pools.get(name),
    async invoke(invocation): Promise<HostedOutcome> {
      const pool = pools.get(invocation.functionName);
      if (!pool) throw new Error(`no function ${invocation.functionName}`);
      const result = await pool.invoke(
        invocation.requestId,
        invocation.payload,
        invocation.waitForCapacity,
        invocation.signal,
      );
      options.onInvocation?.({
        functionName: invocation.functionName,
        requestId: invocation.requestId,
        coldStart: result.coldStart,
        initDurationMs: result.initDurationMs,
        durationMs: result.durationMs,
        errorType: result.outcome.kind === 'error' ? result.outcome.error.errorType : undefined,
      });
      return {
        outcome: result.outcome,
        ...(invocation.wantsLogTail ? { logTail: logTail(result.log) } : {}),
      };
    },
    async close() {
      await Promise.all([...pools.values()].map((pool) => pool.close()));
    },
  };
}
