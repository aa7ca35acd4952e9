/**
 * A redrive's commit whose answer is lost (etcd applied the transaction, the client saw
 * "unavailable" and tried again): the record was redriven exactly once, and the redrive must say so,
 * not that it was left alone because "the entry changed or went" (exit 1, record reported untouched).
 */
import type { Etcd3 } from 'etcd3';
import { GRPCUnavailableError } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBridgeConfig } from '../../bridge/config.js';
import { EtcdDeadLetterSink } from '../../bridge/dlq/etcd-sink.js';
import { buildDeadLetterRecord } from '../../bridge/dlq/record.js';
import { redrive } from '../../bridge/dlq/redrive.js';
import { InProcessInvoker } from '../../bridge/invoke/in-process.js';
import { keyspaceFor } from '../../bridge/keyspace.js';
import { type EtcdFixture, startEtcd, stopEtcd } from '../helpers/etcd.js';
import { heatStackText } from '../helpers/records.js';

const heatKey = (id: string) => `/esi-worker/heat_stacks/v2.0/ports/${id}`;
const jobKey = (id: string) => `/esi-worker/job_state/v2.0/ports/${id}`;

/** The client, but the answer of its first writing transaction is lost after etcd applied it. */
function losingFirstTxnAnswer(client: Etcd3): Etcd3 {
  let lost = false;
  const kv = new Proxy(client.kv, {
    get(target, name, receiver) {
      if (name !== 'txn') return Reflect.get(target, name, receiver);
      return async (...args: Parameters<typeof target.txn>) => {
        const result = await target.txn(...args);
        const writes = args[0].success?.some((o) => 'request_put' in o) ?? false;
        if (lost || !writes || !result.succeeded) return result;
        lost = true;
        throw new GRPCUnavailableError('connection reset (the answer was lost)');
      };
    },
  });
  return new Proxy(client, {
    get: (target, name, receiver) => (name === 'kv' ? kv : Reflect.get(target, name, receiver)),
  });
}

describe('redrive: a commit whose answer was lost', () => {
  let fixture: EtcdFixture;
  beforeAll(async () => {
    fixture = await startEtcd();
  });
  afterAll(async () => {
    await stopEtcd(fixture);
  });

  it('is reported redriven (it was, once), not skipped', async () => {
    const keyspace = keyspaceFor('lost-answer');
    const sink = new EtcdDeadLetterSink(fixture.client, keyspace);
    const value = heatStackText({});
    const revision = (await fixture.client.put(heatKey('x')).value(value).exec()).header.revision;
    const record = buildDeadLetterRecord(
      {
        route: 'heat-stacks',
        key: heatKey('x'),
        type: 'put',
        modRevision: BigInt(revision),
        value: Buffer.from(value),
        errorType: 'Unhandled',
        errorMessage: 'the function was down',
        attempts: 6,
        firstAttemptAt: Date.now(),
        lastAttemptAt: Date.now(),
        bridgeId: 'test',
      },
      sink.maxValueBytes,
    );
    const entry = sink.write(record);
    await fixture.client.put(entry.key).value(entry.value);

    const outcomes = await redrive({
      client: losingFirstTxnAnswer(fixture.client),
      keyspace,
      queue: sink,
      invoker: new InProcessInvoker(),
      routes: parseBridgeConfig({ etcd: { endpoints: [fixture.etcd.clientUrl] } }).routes,
    });

    expect(await fixture.client.get(jobKey('x')).string()).not.toBeNull();
    expect(await sink.list()).toEqual([]);
    expect(outcomes.map((o) => [o.kind, o.kind === 'skipped' ? o.reason : ''])).toEqual([['redriven', '']]);
  });
});
