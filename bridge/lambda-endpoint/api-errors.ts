/**
 * Errors of the Invoke API itself (as opposed to errors of the function, which are a 200 with
 * X-Amz-Function-Error). The AWS SDK's restJson1 deserializer names the exception from the
 * `x-amzn-ErrorType` header first and takes the message from the body's `message`, so both are set.
 */
import { localFunctionArn } from '../invoke/lambda-context.js';

export class LambdaApiError extends Error {
  constructor(
    readonly statusCode: number,
    /** Becomes `error.name` on the SDK client. */
    readonly errorType: string,
    message: string,
    /** AWS's body says whether the caller ("User") or the service is at fault. */
    readonly fault: 'User' | 'Service' = 'User',
    /** More fields of AWS's body (e.g. a throttle's `Reason`). */
    readonly fields: Readonly<Record<string, string>> = {},
    /** More response headers (e.g. `Retry-After`). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = errorType;
  }

  /** The JSON body AWS sends with such an error. */
  toBody(): string {
    return JSON.stringify({ Type: this.fault, message: this.message, ...this.fields });
  }
}

export function functionNotFound(functionName: string): LambdaApiError {
  // AWS names the function by its full ARN; an unparseable name is echoed as it was given.
  const shown = /^[a-zA-Z0-9_-]+$/.test(functionName) ? localFunctionArn(functionName) : functionName;
  return new LambdaApiError(404, 'ResourceNotFoundException', `Function not found: ${shown}`);
}

/**
 * The SDK has no class for this one (it models RequestTooLargeException), but this is the name and
 * message AWS actually returns for an oversized Invoke body; the SDK still sets error.name from it.
 */
export function requestTooLarge(limitBytes: number): LambdaApiError {
  return new LambdaApiError(
    413,
    'RequestEntityTooLargeException',
    `Request must be smaller than ${limitBytes} bytes for the InvokeFunction operation`,
  );
}

export function invalidRequestContent(detail: string): LambdaApiError {
  return new LambdaApiError(
    400,
    'InvalidRequestContentException',
    `Could not parse request body into json: ${detail}`,
  );
}

export function validationError(message: string): LambdaApiError {
  return new LambdaApiError(400, 'ValidationException', message);
}

export function invalidParameter(message: string): LambdaApiError {
  return new LambdaApiError(400, 'InvalidParameterValueException', message);
}

/** A route this endpoint does not serve: 404 for an unknown path, 405 for a wrong method. */
export function unknownOperation(statusCode: 404 | 405, message: string): LambdaApiError {
  return new LambdaApiError(statusCode, 'UnknownOperationException', message);
}

/**
 * Every execution environment of the function is busy and the concurrency limit is reached: AWS's
 * throttle, with the Reason naming which limit (the SDK exposes it as `Reason`, and `Retry-After`
 * as `retryAfterSeconds`).
 */
export function tooManyRequests(reserved: boolean): LambdaApiError {
  return new LambdaApiError(
    429,
    'TooManyRequestsException',
    'Rate Exceeded.',
    'User',
    {
      Reason: reserved
        ? 'ReservedFunctionConcurrentInvocationLimitExceeded'
        : 'ConcurrentInvocationLimitExceeded',
    },
    { 'Retry-After': '1' },
  );
}

export function serviceError(): LambdaApiError {
  return new LambdaApiError(
    500,
    'ServiceException',
    'An internal error occurred in the local endpoint',
    'Service',
  );
}
