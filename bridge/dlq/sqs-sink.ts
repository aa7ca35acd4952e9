/**
 * The dead-letter queues in AWS: one SQS queue per stage (route). Records are sent before the
 * bridge commits the record's applied marker, so a crash in between can send a record twice, never
 * lose it. A value over SQS's 256 KiB message limit keeps only its size and sha256.
 *
 * Listing an SQS queue means receiving its messages, which hides them from other readers for the
 * visibility timeout; `release` makes the ones a command left alone visible again at once.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError } from '../errors.js';
import { type DeadLetterRecord, readDeadLetterRecord, recordId } from './record.js';
import type { DeadLetterEntry, DeadLetterQueue, OnUnreadable } from './sink.js';

export interface SqsDeadLetterSinkOptions {
  /** SQS's message size limit; 256 KiB. */
  maxMessageBytes?: number;
  /** How long a listed message stays hidden from other readers (seconds); default 60. */
  visibilityTimeoutSeconds?: number;
  /** Long-poll wait of one receive (seconds); 0 for short polling. Default 1. */
  receiveWaitSeconds?: number;
}

/** The SDK, loaded at the first call: a bridge with the etcd sink never holds it (~4 MB). */
const loadSdk = () => import('@aws-sdk/client-sqs');

/** A client, or how to make one once the SDK is loaded (createDeadLetterQueue's default). */
export type SqsClientSource = SQSClient | ((sdk: typeof import('@aws-sdk/client-sqs')) => SQSClient);

export class SqsDeadLetterSink implements DeadLetterQueue {
  readonly kind = 'sqs' as const;
  /** 256 KiB message limit, less room for the record's other fields. */
  readonly maxValueBytes: number;
  private readonly visibilityTimeout: number;
  private readonly waitSeconds: number;

  private client: SQSClient | undefined;

  constructor(
    private readonly clientSource: SqsClientSource,
    /** Queue URL by route name. */
    private readonly queueUrls: Readonly<Record<string, string>>,
    options: SqsDeadLetterSinkOptions = {},
  ) {
    this.maxValueBytes = (options.maxMessageBytes ?? 256 * 1024) - 8 * 1024;
    this.visibilityTimeout = options.visibilityTimeoutSeconds ?? 60;
    this.waitSeconds = options.receiveWaitSeconds ?? 1;
  }

  /** The client and the SDK's commands. */
  private async sqs(): Promise<{ client: SQSClient; sdk: typeof import('@aws-sdk/client-sqs') }> {
    const sdk = await loadSdk();
    const source = this.clientSource;
    this.client ??= typeof source === 'function' ? source(sdk) : source;
    return { client: this.client, sdk };
  }

  private urlFor(route: string): string {
    const url = this.queueUrls[route];
    if (!url) throw new ConfigError(`no dead-letter queue URL for route ${route}`);
    return url;
  }

  async send(record: DeadLetterRecord): Promise<void> {
    const { client, sdk } = await this.sqs();
    await client.send(
      new sdk.SendMessageCommand({
        QueueUrl: this.urlFor(record.route),
        MessageBody: JSON.stringify(record),
        MessageAttributes: {
          route: { DataType: 'String', StringValue: record.route },
          errorType: { DataType: 'String', StringValue: record.errorType },
        },
      }),
    );
  }

  /**
   * Receives (and so hides for the visibility timeout) up to `limit` messages per route, page by
   * page until a receive comes back empty.
   */
  async list(
    route?: string,
    limit = 100,
    _after?: string,
    onUnreadable?: OnUnreadable,
  ): Promise<DeadLetterEntry[]> {
    const routes = route === undefined ? Object.keys(this.queueUrls) : [route];
    const entries: DeadLetterEntry[] = [];
    // Messages that are not records stay hidden while the listing goes on (or it would receive
    // them again and again), and are handed back when it ends.
    const unreadable: string[] = [];
    try {
      for (const name of routes) await this.listRoute(name, limit, entries, unreadable, onUnreadable);
    } finally {
      await this.releaseIds(unreadable);
    }
    return entries;
  }

  private async listRoute(
    name: string,
    limit: number,
    entries: DeadLetterEntry[],
    unreadable: string[],
    onUnreadable: OnUnreadable | undefined,
  ): Promise<void> {
    // receiveRoute sizes its pages by what is left of `limit`, so it stops there by itself.
    await this.receiveRoute(name, limit, (message) => {
      const read = readDeadLetterRecord(message.body);
      if (!('record' in read)) {
        unreadable.push(message.id);
        onUnreadable?.({ id: `${name}/${message.messageId ?? '?'}`, reason: read.reason });
        return 'skipped';
      }
      entries.push({ id: message.id, record: read.record });
      return 'taken';
    });
  }

  /**
   * Receives the route's messages, each once (hidden for the visibility timeout), page by page
   * until `limit` of them were taken, `visit` says it is done, or a receive comes back empty. A page
   * asks for no more than what is left of `limit`.
   */
  private async receiveRoute(
    name: string,
    limit: number,
    visit: (message: ReceivedMessage) => 'taken' | 'skipped' | 'done',
  ): Promise<void> {
    const seen = new Set<string>();
    let taken = 0;
    while (taken < limit) {
      const { client, sdk } = await this.sqs();
      const out = await client.send(
        new sdk.ReceiveMessageCommand({
          QueueUrl: this.urlFor(name),
          MaxNumberOfMessages: Math.min(10, limit - taken),
          VisibilityTimeout: this.visibilityTimeout,
          WaitTimeSeconds: this.waitSeconds,
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) return;
      for (const [at, message] of messages.entries()) {
        if (!message.Body || !message.ReceiptHandle) continue;
        if (message.MessageId) {
          if (seen.has(message.MessageId)) continue;
          seen.add(message.MessageId);
        }
        const visited = visit({
          id: `${name}\n${message.ReceiptHandle}`,
          messageId: message.MessageId,
          body: message.Body,
        });
        if (visited === 'done') {
          // The rest of this page was received but not visited: hand it back, visible at once.
          const rest = messages.slice(at + 1).filter((m) => m.ReceiptHandle !== undefined);
          await this.releaseIds(rest.map((m) => `${name}\n${m.ReceiptHandle}`));
          return;
        }
        if (visited === 'taken') taken++;
      }
    }
  }

  async remove(entry: DeadLetterEntry): Promise<void> {
    await this.deleteReceived(entry.id);
  }

  private async deleteReceived(id: string): Promise<void> {
    const { route, receipt } = splitId(id);
    const { client, sdk } = await this.sqs();
    await client.send(new sdk.DeleteMessageCommand({ QueueUrl: this.urlFor(route), ReceiptHandle: receipt }));
  }

  /** SQS messages cannot change: the new record is sent, then the old message deleted. */
  async replace(entry: DeadLetterEntry, record: DeadLetterRecord): Promise<void> {
    await this.send(record);
    await this.remove(entry);
  }

  async count(route: string): Promise<number> {
    const { client, sdk } = await this.sqs();
    const out = await client.send(
      new sdk.GetQueueAttributesCommand({
        QueueUrl: this.urlFor(route),
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    const attributes = out.Attributes ?? {};
    return (
      Number(attributes.ApproximateNumberOfMessages ?? 0) +
      Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  }

  /**
   * Receives the route's messages until the one with this id turns up, deletes it, and makes the
   * others visible again. SQS has no lookup by content; a dead-letter queue is small.
   */
  async delete(id: string): Promise<DeadLetterRecord | undefined> {
    const route = id.split('/')[0] ?? '';
    if (!Object.hasOwn(this.queueUrls, route)) return undefined;
    const entries = await this.list(route, Number.MAX_SAFE_INTEGER);
    const found = entries.find((e) => recordId(e.record) === id);
    try {
      if (found) await this.remove(found);
    } finally {
      await this.release(entries.filter((e) => e !== found));
    }
    return found?.record;
  }

  /**
   * Deletes a message that is not a record, by the `<route>/<message id>` a listing told: receives
   * the route's messages until it turns up, deletes it by its receipt, and makes the others visible
   * again. A message that reads as a record is left alone (`delete` takes those by record id).
   */
  async deleteEntry(id: string): Promise<boolean> {
    const at = id.indexOf('/');
    const route = id.slice(0, at);
    const messageId = id.slice(at + 1);
    if (at < 0 || messageId === '' || !Object.hasOwn(this.queueUrls, route)) return false;
    const received: string[] = [];
    let found: string | undefined;
    try {
      await this.receiveRoute(route, Number.MAX_SAFE_INTEGER, (message) => {
        if (message.messageId === messageId && !('record' in readDeadLetterRecord(message.body))) {
          found = message.id;
          return 'done';
        }
        received.push(message.id);
        return 'taken';
      });
      if (found !== undefined) await this.deleteReceived(found);
    } finally {
      await this.releaseIds(received);
    }
    return found !== undefined;
  }

  async purge(route: string): Promise<number> {
    const count = await this.count(route);
    const { client, sdk } = await this.sqs();
    await client.send(new sdk.PurgeQueueCommand({ QueueUrl: this.urlFor(route) }));
    return count;
  }

  async release(entries: readonly DeadLetterEntry[]): Promise<void> {
    await this.releaseIds(entries.map((entry) => entry.id));
  }

  /** Makes the messages of these entry ids visible again at once. */
  private async releaseIds(ids: readonly string[]): Promise<void> {
    const byRoute = new Map<string, string[]>();
    for (const id of ids) {
      const { route, receipt } = splitId(id);
      byRoute.set(route, [...(byRoute.get(route) ?? []), receipt]);
    }
    for (const [route, receipts] of byRoute) {
      for (let i = 0; i < receipts.length; i += 10) {
        const { client, sdk } = await this.sqs();
        await client.send(
          new sdk.ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.urlFor(route),
            Entries: receipts.slice(i, i + 10).map((receipt, j) => ({
              Id: String(i + j),
              ReceiptHandle: receipt,
              VisibilityTimeout: 0,
            })),
          }),
        );
      }
    }
  }
}

/** A message as a receive handed it over: the entry id (`<route>\n<receipt>`), SQS's id, the body. */
interface ReceivedMessage {
  readonly id: string;
  readonly messageId: string | undefined;
  readonly body: string;
}

function splitId(id: string): { route: string; receipt: string } {
  const at = id.indexOf('\n');
  if (at < 0) throw new Error(`not an SQS dead-letter entry id: ${JSON.stringify(id)}`);
  return { route: id.slice(0, at), receipt: id.slice(at + 1) };
}
