/**
 * Replay a trace through the real pipeline: etcd (ours, or one given), the bridge, the stage
 * functions in-process or behind the local Lambda endpoint. Inputs are applied one at a time, each
 * after the pipeline has settled; then the pipeline's writes are compared with the expected ones.
 */
import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { Bridge } from '../bridge.js';
import { parseBridgeConfig } from '../config.js';
import { EmbeddedEtcd } from '../etcd/embedded-etcd.js';
import { headRevision } from '../etcd/head.js';
import { BOOKKEEPING_ROOT } from '../keyspace.js';
import type { FunctionHost } from '../lambda-endpoint/function-host.js';
import { startLambdaEndpoint } from '../lambda-endpoint/server.js';
import { type BridgeLogger, silentLogger } from '../log.js';
import { loadStageHandler, STAGE_NAMES } from '../stages.js';
import { compareWrites, type ReplayComparison, type Write } from './compare.js';
import { KeyspaceRecorder } from './recorder.js';
import { waitUntilSettled } from './settle.js';
import type { TraceLine } from './trace.js';

export interface ReplayOptions {
  readonly trace: readonly TraceLine[];
  /** An etcd to replay against (every member's URL); default: a private one on a free port with a temporary data dir. */
  readonly etcdEndpoints?: readonly string[];
  readonly invoke: 'inprocess' | 'lambda';
  /** With `lambda`: what runs the functions behind the endpoint (`--runtime ric`); default in-process. */
  readonly functionHost?: FunctionHost;
  readonly logger?: BridgeLogger;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ReplayResult extends ReplayComparison {
  readonly inputs: number;
  readonly durationMs: number;
}

export async function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  const started = performance.now();
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    let endpoints = options.etcdEndpoints ? [...options.etcdEndpoints] : undefined;
    if (!endpoints || endpoints.length === 0) {
      const etcd = await EmbeddedEtcd.start();
      cleanups.push(() => etcd.stop());
      endpoints = [etcd.clientUrl];
    }
    const client = new Etcd3({ hosts: endpoints });
    cleanups.push(() => client.close());

    let endpoint: string | undefined;
    if (options.invoke === 'lambda') {
      const hosted = options.functionHost
        ? { functionHost: options.functionHost }
        : {
            functions: await Promise.all(
              STAGE_NAMES.map(async (name) => ({
                name,
                handler: await loadStageHandler(name),
                timeoutMs: 30_000,
              })),
            ),
          };
      const server = await startLambdaEndpoint({ ...hosted, port: 0, log: () => {} });
      cleanups.push(() => server.close());
      endpoint = server.url;
    }

    const from = (await headRevision(client)) + 1n;
    const recorder = await KeyspaceRecorder.start(client, from);
    cleanups.push(() => recorder.close());
    const config = parseBridgeConfig({
      etcd: { endpoints },
      // A group of its own: a replay never shares checkpoints or leadership with a running bridge.
      group: `replay-${randomUUID().slice(0, 8)}`,
      invoke: endpoint ? { mode: 'lambda', endpoint } : { mode: 'inprocess' },
      observability: { port: 0 },
    });
    const bridge = await Bridge.start(config, { client, logger: options.logger ?? silentLogger });
    cleanups.push(() => bridge.stop());

    const inputs = options.trace.filter((line) => line.role === 'input');
    const inputRevisions = new Set<bigint>();
    let done = 0;
    for (const line of inputs) {
      if (line.action === 'put') {
        const { header } = await client
          .put(line.key)
          .value(line.value ?? '')
          .exec();
        inputRevisions.add(BigInt(header.revision));
      } else {
        // A delete of a key that is not there makes no revision: its header's revision is the last
        // write's, perhaps the pipeline's own, which must not be taken for an input.
        const { header, deleted } = await client.delete().key(line.key).exec();
        if (BigInt(deleted) > 0n) inputRevisions.add(BigInt(header.revision));
      }
      await waitUntilSettled(bridge, recorder);
      options.onProgress?.(++done, inputs.length);
    }

    const expected: Write[] = options.trace
      .filter((line) => line.role === 'expect')
      .map((line) => ({ key: line.key, action: line.action, value: line.value }));
    const actual: Write[] = recorder.writes.filter(
      (w) => !inputRevisions.has(w.revision) && !w.key.startsWith(BOOKKEEPING_ROOT),
    );
    return {
      ...compareWrites(expected, actual),
      inputs: inputs.length,
      durationMs: performance.now() - started,
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}
