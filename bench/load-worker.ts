/** Worker-thread entry of the bench's load (load.ts): one run a worker, its result posted back. */
import { parentPort, workerData } from 'node:worker_threads';
import { Etcd3 } from 'etcd3';
import { type LoadRequest, pacedLoad, streamLoad } from './load.js';

export type LoadMessage =
  | { readonly type: 'started' }
  | { readonly type: 'progress'; readonly done: number; readonly total: number }
  | { readonly type: 'result'; readonly result: unknown }
  | { readonly type: 'error'; readonly message: string };

const post = (message: LoadMessage) => parentPort?.postMessage(message);
const request = workerData as LoadRequest;
const client = new Etcd3({ hosts: request.etcdUrl });
const hooks = {
  started: () => post({ type: 'started' }),
  progress: (done: number, total: number) => post({ type: 'progress', done, total }),
};
try {
  const result =
    request.kind === 'stream'
      ? await streamLoad(client, request, hooks)
      : await pacedLoad(client, request, hooks);
  post({ type: 'result', result });
} catch (error) {
  post({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
} finally {
  client.close();
}
