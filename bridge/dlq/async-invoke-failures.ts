/**
 * Where the local Lambda endpoint hands an Event invocation whose attempts all failed: the stage's
 * dead-letter queue, as AWS hands it to the function's on-failure destination. A batch payload
 * becomes one dead-letter record per etcd record in it, the same records the bridge writes.
 */
import type { Etcd3 } from 'etcd3';
import { StageRequestSchema } from '../../shared/index.js';
import type { Keyspace } from '../keyspace.js';
import type { AsyncInvokeFailure } from '../lambda-endpoint/server.js';
import { EtcdDeadLetterSink } from './etcd-sink.js';
import { buildDeadLetterRecord } from './record.js';

export function asyncFailuresToEtcd(
  client: Etcd3,
  keyspace: Keyspace,
  log: (message: string, fields: Record<string, unknown>) => void,
): (failure: AsyncInvokeFailure) => Promise<void> {
  const sink = new EtcdDeadLetterSink(client, keyspace);
  return async (failure) => {
    let payload: unknown;
    try {
      payload = JSON.parse(failure.payload);
    } catch {
      payload = undefined;
    }
    const request = StageRequestSchema.safeParse(payload);
    if (!request.success) {
      log('async invocation failed; its payload is not a stage batch, so it is only logged', { ...failure });
      return;
    }
    for (const record of request.data.records) {
      const dead = buildDeadLetterRecord(
        {
          route: request.data.route,
          key: record.key,
          type: record.type,
          modRevision: BigInt(record.modRevision),
          value: record.value === null ? null : Buffer.from(record.value, 'utf8'),
          errorType: failure.error.errorType,
          errorMessage: `${failure.error.errorMessage} (async invocation ${failure.requestId})`,
          attempts: failure.attempts,
          firstAttemptAt: Date.parse(failure.firstAttemptAt),
          lastAttemptAt: Date.parse(failure.lastAttemptAt),
          bridgeId: `lambda-endpoint/${failure.functionName}`,
        },
        sink.maxValueBytes,
      );
      const { key, value } = sink.write(dead);
      await client.put(key).value(value);
    }
  };
}
