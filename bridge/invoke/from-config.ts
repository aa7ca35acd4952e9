/** The invoker a configuration names: stage functions in this process, or Lambda's Invoke API. */
import type { BridgeConfig } from '../config.js';
import { InProcessInvoker } from './in-process.js';
import type { Invoker } from './invoker.js';
import { LambdaInvoker } from './lambda-sdk.js';

export function createInvoker(config: BridgeConfig['invoke']): Invoker {
  if (config.mode === 'inprocess') return new InProcessInvoker(config.timeoutMs);
  return new LambdaInvoker({
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.region ? { region: config.region } : {}),
    timeoutMs: config.timeoutMs,
  });
}
