/**
 * A worker thread running a TypeScript module. The bench runs from source under tsx, and on Node 20
 * a worker does not inherit tsx's loader (neither through `--import` nor execArgv), so the worker
 * registers tsx itself before it imports the module.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function typeScriptWorker(module: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap =
    `import(${JSON.stringify(tsxApi)})` +
    `.then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
