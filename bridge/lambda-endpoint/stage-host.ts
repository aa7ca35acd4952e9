/**
 * The stage functions behind the endpoint, by `--runtime`: `inprocess` (the handlers in this
 * process, the fast default of `npm start`) or `ric` (the bundles `cdk synth` deploys, in execution
 * environments running aws-lambda-ric on Node 24). One place, so dev, replay and lambda-endpoint
 * mean the same thing by it.
 */
import { z } from 'zod';
import type { BridgeLogger } from '../log.js';
import { type FunctionHost, inProcessHost } from './function-host.js';
import { deployableStageFunctions } from './runtime/deployable.js';
import { type RuntimeHostOptions, runtimeHost } from './runtime/runtime-host.js';
import { ensureRuntimeTools } from './runtime/runtime-tools.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from './server.js';
import { stageFunctions } from './stage-functions.js';

export const RUNTIMES = ['inprocess', 'ric'] as const;
export type StageRuntime = (typeof RUNTIMES)[number];
export const RuntimeSchema = z.enum(RUNTIMES);

export interface StageHostOptions {
  readonly runtime: StageRuntime;
  /** In-process: the timeout of one invocation. ric: overrides the template's Timeout when set. */
  readonly timeoutMs?: number;
  /** ric: execution environments per function at most. */
  readonly concurrency?: number;
  /** ric: a cloud assembly (`cdk.out`) to take the bundles from instead of synthesizing one. */
  readonly cloudAssembly?: string;
  /** ric: the build's and install's progress lines. */
  readonly progress?: (line: string) => void;
  /** ric: the functions' log lines (debug) and each cold start (info) go here. */
  readonly logger?: BridgeLogger;
  readonly onFunctionLog?: RuntimeHostOptions['onFunctionLog'];
  readonly onInvocation?: RuntimeHostOptions['onInvocation'];
}

export async function stageFunctionHost(options: StageHostOptions): Promise<FunctionHost> {
  if (options.runtime === 'inprocess') {
    return inProcessHost(await stageFunctions(options.timeoutMs), DEFAULT_MAX_PAYLOAD_BYTES);
  }
  const { logger } = options;
  const onFunctionLog =
    options.onFunctionLog ??
    (logger ? (fn: string, line: string) => logger.log('debug', line, { function: fn }) : undefined);
  const onInvocation =
    options.onInvocation ??
    (logger
      ? (report: Parameters<NonNullable<RuntimeHostOptions['onInvocation']>>[0]) => {
          if (report.coldStart)
            logger.log('info', 'cold start', {
              function: report.functionName,
              initMs: Math.round(report.initDurationMs ?? 0),
              invokeMs: Math.round(report.durationMs),
            });
        }
      : undefined);
  const tools = await ensureRuntimeTools();
  const functions = await deployableStageFunctions({
    ...(options.cloudAssembly !== undefined ? { cloudAssembly: options.cloudAssembly } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
  });
  return runtimeHost({
    functions,
    tools,
    maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(onFunctionLog ? { onFunctionLog } : {}),
    ...(onInvocation ? { onInvocation } : {}),
  });
}

/** `--runtime`'s value, or undefined when it is neither runtime. */
export function parseRuntime(value: unknown): StageRuntime | undefined {
  const parsed = RuntimeSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
