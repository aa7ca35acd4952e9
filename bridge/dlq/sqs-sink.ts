/**
 * The dead-letter queues in AWS: one SQS queue per stage (route). Records are sent before the
 * bridge commits the record's applied marker, so a crash in between can send a record twice, never
 * lose it. A value over SQS's 256 KiB message limit keeps only its size and sha256.
 */
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { ConfigError } from '../errors.js';
import { type DeadLetterRecord, DeadLetterRecordSchema } from './record.js';
import type { DeadLetterEntry, DeadLetterSink } from './sink.js';

export class SqsDeadLetterSink implements DeadLetterSink {
  readonly kind = 'sqs' as const;
  /** 256 KiB message limit, less room for the record's other fields. */
  readonly maxValueBytes: number;

  constructor(
    private readonly client: SQSClient,
    /** Queue URL by route name. */
    private readonly queueUrls: Readonly<Record<string, string>>,
    maxMessageBytes = 256 * 1024,
  ) {
    this.maxValueBytes = maxMessageBytes - 8 * 1024;
  }

  private urlFor(route: string): string {
    const url = this.queueUrls[route];
    if (!url) throw new ConfigError(`no dead-letter queue URL for route ${route}`);
    return url;
  }

  async send(record: DeadLetterRecord): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.urlFor(record.route),
        MessageBody: JSON.stringify(record),
        MessageAttributes: {
          route: { DataType: 'String', StringValue: record.route },
          errorType: { DataType: 'String', StringValue: record.errorType },
        },
      }),
    );
  }

  /** Receives (and so hides for the visibility timeout) up to `limit` messages per route. */
  async list(route?: string, limit = 10): Promise<DeadLetterEntry[]> {
    const routes = route === undefined ? Object.keys(this.queueUrls) : [route];
    const entries: DeadLetterEntry[] = [];
    for (const name of routes) {
      const out = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.urlFor(name),
          MaxNumberOfMessages: Math.min(10, limit),
          VisibilityTimeout: 30,
          WaitTimeSeconds: 0,
        }),
      );
      for (const message of out.Messages ?? []) {
        if (!message.Body || !message.ReceiptHandle) continue;
        entries.push({
          id: `${name}\n${message.ReceiptHandle}`,
          record: DeadLetterRecordSchema.parse(JSON.parse(message.Body)),
        });
      }
    }
    return entries;
  }

  async remove(entry: DeadLetterEntry): Promise<void> {
    const [route, receipt] = entry.id.split('\n');
    await this.client.send(
      new DeleteMessageCommand({ QueueUrl: this.urlFor(route!), ReceiptHandle: receipt! }),
    );
  }
}
