/**
 * Turns a request line and headers into an Invoke call, or an API error. The FunctionName taken
 * from the path is untrusted text: it is validated against the shape AWS accepts and is only ever
 * used as a key into the function registry, never as a file path.
 */
import { z } from 'zod';
import { functionNotFound, invalidParameter, unknownOperation, validationError } from './api-errors.js';

export const INVOCATION_TYPES = ['RequestResponse', 'Event', 'DryRun'] as const;
export type InvocationType = (typeof INVOCATION_TYPES)[number];

export interface InvokeRoute {
  /** The bare function name (ARN prefix and qualifier removed). */
  functionName: string;
  /** `$LATEST`, a version or an alias; the local endpoint runs the one code it has for any of them. */
  qualifier: string | undefined;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/**
 * A name, `name:qualifier`, a partial ARN `123456789012:function:name[:qualifier]` or a full ARN.
 * Region is loosened from AWS's pattern so that the endpoint's own `local` ARNs are accepted.
 */
const FUNCTION_NAME =
  /^(?:arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)?([a-zA-Z0-9_-]{1,64})(?::(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$/;
const QUALIFIER = /^(\$LATEST|[a-zA-Z0-9_-]{1,128})$/;

// AWS caps FunctionName at 170 characters (full ARN with qualifier).
const functionNameSchema = z.string().max(170).regex(FUNCTION_NAME);
const qualifierSchema = z.string().regex(QUALIFIER);
const invocationTypeSchema = z.enum(INVOCATION_TYPES).default('RequestResponse');

/** Resolves method + URL to the invoked function; throws LambdaApiError for anything else. */
export function routeInvoke(method: string | undefined, rawUrl: string | undefined): InvokeRoute {
  // Split by hand rather than with `new URL()`, which would resolve `..` and `%2e%2e` segments and
  // so route `/functions/x/../echo/invocations` to echo: the path is matched exactly as sent.
  const target = rawUrl ?? '/';
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? '' : target.slice(queryAt + 1));
  const match = INVOKE_PATH.exec(path);
  if (!match?.[1]) {
    throw unknownOperation(404, `No operation serves ${path}`);
  }
  if (method !== 'POST') {
    throw unknownOperation(405, `Method ${method ?? '(none)'} is not allowed on ${path}`);
  }
  const rawName = decodeSegment(match[1]);
  const parsed = functionNameSchema.safeParse(rawName);
  const nameMatch = parsed.success ? FUNCTION_NAME.exec(parsed.data) : null;
  if (!nameMatch?.[1]) {
    // Not a name AWS would accept (`../x`, `a/b`, ...): there is no such function, and AWS says so.
    throw functionNotFound(rawName ?? match[1]);
  }
  return {
    functionName: nameMatch[1],
    qualifier: resolveQualifier(nameMatch[2], query.get('Qualifier')),
  };
}

export function parseInvocationType(header: string | string[] | undefined): InvocationType {
  const parsed = invocationTypeSchema.safeParse(Array.isArray(header) ? header[0] : header);
  if (!parsed.success) {
    throw validationError(
      `1 validation error detected: Value '${String(header)}' at 'invocationType' failed to satisfy constraint: ` +
        `Member must satisfy enum value set: [${INVOCATION_TYPES.join(', ')}]`,
    );
  }
  return parsed.data;
}

export const LOG_TYPES = ['None', 'Tail'] as const;
const logTypeSchema = z.enum(LOG_TYPES).default('None');

/** `X-Amz-Log-Type`: `Tail` asks for the last 4 KB of the invocation's log. */
export function parseLogType(header: string | string[] | undefined): (typeof LOG_TYPES)[number] {
  const parsed = logTypeSchema.safeParse(Array.isArray(header) ? header[0] : header);
  if (!parsed.success) {
    throw validationError(
      `1 validation error detected: Value '${String(header)}' at 'logType' failed to satisfy constraint: ` +
        `Member must satisfy enum value set: [${LOG_TYPES.join(', ')}]`,
    );
  }
  return parsed.data;
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined; // malformed %-escape: treated as an unknown function
  }
}

/** The qualifier may come from the name (`fn:prod`) or `?Qualifier=`; AWS rejects the two disagreeing. */
function resolveQualifier(fromName: string | undefined, fromQuery: string | null): string | undefined {
  if (fromQuery === null || fromQuery === '') return fromName;
  if (!qualifierSchema.safeParse(fromQuery).success) {
    throw validationError(
      `1 validation error detected: Value '${fromQuery}' at 'qualifier' failed to satisfy constraint`,
    );
  }
  if (fromName !== undefined && fromName !== fromQuery) {
    throw invalidParameter(
      'The derived qualifier from the function name does not match the specified qualifier.',
    );
  }
  return fromQuery;
}
