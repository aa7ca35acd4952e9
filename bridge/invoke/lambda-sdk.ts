/**
 * Invokes stage functions through AWS Lambda's Invoke API (RequestResponse): AWS itself, LocalStack,
 * `sam local start-lambda`, or our local endpoint (AWS_ENDPOINT_URL_LAMBDA or `endpoint`).
 */
import type { InvokeCommandOutput, LambdaClient, LambdaClientConfig } from '@aws-sdk/client-lambda';
import type { StageRequest, StageResponse } from '../../shared/index.js';
import { errorMessage, InvokeError } from '../errors.js';
import type { Invoker } from './invoker.js';
import { checkResponse } from './response.js';

export interface LambdaInvokerOptions {
  endpoint?: string;
  region?: string;
  timeoutMs?: number;
  client?: LambdaClient;
}

/**
 * The SDK, loaded at the first invoke: a bridge that invokes in-process (or only reads these
 * definitions) never holds its ~4 MB of code and heap.
 */
const loadSdk = () => import('@aws-sdk/client-lambda');

export class LambdaInvoker implements Invoker {
  private client: LambdaClient | undefined;
  private clientPromise: Promise<LambdaClient> | undefined;
  private readonly config: LambdaClientConfig;
  private readonly timeoutMs: number;

  constructor(options: LambdaInvokerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
    const config: LambdaClientConfig = {
      region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
      // The bridge owns retries (one policy, with the record's age); the SDK must not add its own.
      maxAttempts: 1,
    };
    if (options.endpoint) {
      config.endpoint = options.endpoint;
      // Local endpoints accept any credentials; don't make a laptop user configure AWS for them.
      if (!process.env.AWS_ACCESS_KEY_ID)
        config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    }
    this.config = config;
    this.client = options.client;
  }

  private lambda(): Promise<LambdaClient> {
    if (this.client) return Promise.resolve(this.client);
    this.clientPromise ??= loadSdk().then(({ LambdaClient }) => {
      this.client = new LambdaClient(this.config);
      return this.client;
    });
    return this.clientPromise;
  }

  async invoke(functionName: string, request: StageRequest): Promise<StageResponse> {
    let output: InvokeCommandOutput;
    try {
      const [client, { InvokeCommand }] = await Promise.all([this.lambda(), loadSdk()]);
      output = await client.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'RequestResponse',
          Payload: Buffer.from(JSON.stringify(request)),
        }),
        { abortSignal: AbortSignal.timeout(this.timeoutMs) },
      );
    } catch (error) {
      // What it means (throttled, not found, a network error...) is the classifier's to say,
      // from the SDK's error kept as the cause.
      const name = error instanceof Error ? error.name : 'Error';
      throw new InvokeError(`${functionName}: ${name}: ${errorMessage(error)}`, name, { cause: error });
    }
    const text = output.Payload ? Buffer.from(output.Payload).toString('utf8') : '';
    if (output.FunctionError) {
      // Unhandled / Handled: the function failed as a whole; the batch is retried.
      throw new InvokeError(
        `${functionName}: function error ${output.FunctionError}: ${text.slice(0, 1000)}`,
        output.FunctionError,
      );
    }
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch (error) {
      throw new InvokeError(
        `${functionName}: response is not JSON: ${errorMessage(error)}`,
        'InvalidResponse',
      );
    }
    return checkResponse(functionName, request, payload);
  }

  async close(): Promise<void> {
    // A client still being made is destroyed once made: nothing is left open after close.
    (this.client ?? (await this.clientPromise))?.destroy();
  }
}
