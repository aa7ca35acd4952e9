/**
 * An in-memory SQS behind aws-sdk-client-mock: SendMessage, ReceiveMessage (visibility timeout,
 * fresh receipt handles), DeleteMessage, ChangeMessageVisibilityBatch and GetQueueAttributes, with
 * SQS's 256 KiB message limit. Enough for the dead-letter sink to run against it unchanged.
 */
import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  SQSClient,
  type SQSClientResolvedConfig,
} from '@aws-sdk/client-sqs';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';

export const SQS_MAX_MESSAGE_BYTES = 256 * 1024;

interface StoredMessage {
  readonly id: string;
  readonly body: string;
  readonly attributes: Record<string, unknown> | undefined;
  visibleAt: number;
  receipt: string | undefined;
}

export interface FakeSqs {
  readonly mock: AwsStub<ServiceInputTypes, ServiceOutputTypes, SQSClientResolvedConfig>;
  /** Bodies in each queue, visible or not. */
  bodies(queueUrl: string): string[];
  /** Bodies of every message ever sent, in order. */
  readonly sent: Array<{ queueUrl: string; body: string; attributes: Record<string, unknown> | undefined }>;
  restore(): void;
}

export function fakeSqs(queueUrls: readonly string[]): FakeSqs {
  const queues = new Map<string, StoredMessage[]>(queueUrls.map((url) => [url, []]));
  const sent: FakeSqs['sent'] = [];
  const queue = (url: string | undefined) => {
    const q = url === undefined ? undefined : queues.get(url);
    if (!q)
      throw Object.assign(new Error(`The specified queue does not exist: ${url}`), {
        name: 'QueueDoesNotExist',
      });
    return q;
  };
  const mock = mockClient(SQSClient);
  mock
    .on(SendMessageCommand)
    .callsFake(
      (input: { QueueUrl?: string; MessageBody?: string; MessageAttributes?: Record<string, unknown> }) => {
        const body = input.MessageBody ?? '';
        if (Buffer.byteLength(body, 'utf8') > SQS_MAX_MESSAGE_BYTES)
          throw Object.assign(
            new Error(
              'One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.',
            ),
            {
              name: 'InvalidParameterValue',
            },
          );
        const id = randomUUID();
        queue(input.QueueUrl).push({
          id,
          body,
          attributes: input.MessageAttributes,
          visibleAt: 0,
          receipt: undefined,
        });
        sent.push({ queueUrl: input.QueueUrl ?? '', body, attributes: input.MessageAttributes });
        return { MessageId: id };
      },
    );
  mock
    .on(ReceiveMessageCommand)
    .callsFake((input: { QueueUrl?: string; MaxNumberOfMessages?: number; VisibilityTimeout?: number }) => {
      const now = Date.now();
      const messages = queue(input.QueueUrl)
        .filter((m) => m.visibleAt <= now)
        .slice(0, input.MaxNumberOfMessages ?? 1);
      for (const m of messages) {
        m.receipt = randomUUID();
        m.visibleAt = now + (input.VisibilityTimeout ?? 30) * 1000;
      }
      return { Messages: messages.map((m) => ({ MessageId: m.id, ReceiptHandle: m.receipt, Body: m.body })) };
    });
  mock.on(DeleteMessageCommand).callsFake((input: { QueueUrl?: string; ReceiptHandle?: string }) => {
    const q = queue(input.QueueUrl);
    const at = q.findIndex((m) => m.receipt !== undefined && m.receipt === input.ReceiptHandle);
    if (at >= 0) q.splice(at, 1);
    return {};
  });
  mock
    .on(ChangeMessageVisibilityBatchCommand)
    .callsFake(
      (input: {
        QueueUrl?: string;
        Entries?: Array<{ Id?: string; ReceiptHandle?: string; VisibilityTimeout?: number }>;
      }) => {
        const q = queue(input.QueueUrl);
        for (const entry of input.Entries ?? []) {
          const m = q.find((x) => x.receipt === entry.ReceiptHandle);
          if (m) m.visibleAt = Date.now() + (entry.VisibilityTimeout ?? 0) * 1000;
        }
        return { Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id })), Failed: [] };
      },
    );
  mock.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl?: string }) => {
    const q = queue(input.QueueUrl);
    const now = Date.now();
    const visible = q.filter((m) => m.visibleAt <= now).length;
    return {
      Attributes: {
        ApproximateNumberOfMessages: String(visible),
        ApproximateNumberOfMessagesNotVisible: String(q.length - visible),
      },
    };
  });
  return {
    mock,
    sent,
    bodies: (url) => queue(url).map((m) => m.body),
    restore: () => mock.restore(),
  };
}
