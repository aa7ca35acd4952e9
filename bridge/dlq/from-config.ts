/** The dead-letter queue a configuration names: the etcd prefix (default) or SQS, one queue per route. */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Etcd3 } from 'etcd3';
import type { BridgeConfig } from '../config.js';
import type { Keyspace } from '../keyspace.js';
import { EtcdDeadLetterSink } from './etcd-sink.js';
import type { DeadLetterQueue } from './sink.js';
import { type SqsClientSource, SqsDeadLetterSink, type SqsDeadLetterSinkOptions } from './sqs-sink.js';

export interface DeadLetterQueueOptions extends SqsDeadLetterSinkOptions {
  /** The SQS client to use (tests); default: one for `deadLetter.region` or the environment's. */
  sqsClient?: SQSClient;
}

export function createDeadLetterQueue(
  config: Pick<BridgeConfig, 'deadLetter'>,
  client: Etcd3,
  keyspace: Keyspace,
  options: DeadLetterQueueOptions = {},
): DeadLetterQueue {
  if (config.deadLetter.sink === 'etcd') return new EtcdDeadLetterSink(client, keyspace);
  const { sqsClient, ...sqsOptions } = options;
  const region = config.deadLetter.region;
  // Made when the sink is first used: the SDK is loaded only then.
  const sqs: SqsClientSource =
    sqsClient ?? ((sdk) => new sdk.SQSClient(region === undefined ? {} : { region }));
  return new SqsDeadLetterSink(sqs, config.deadLetter.queueUrls, sqsOptions);
}
