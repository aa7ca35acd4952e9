/**
 * Does each route's function resolve? In-process: it must be a stage this bridge carries. Through
 * the Lambda API: GetFunction; where that is not allowed (AccessDenied, or an endpoint that does
 * not serve it, like ours) a DryRun invoke, which checks the function and the right to invoke it
 * without running it. Credentials and region are checked first: without them every call fails.
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { Route } from '../../shared/index.js';
import type { BridgeConfig } from '../config.js';
import { errorMessage } from '../errors.js';
import { isStageName, STAGE_NAMES } from '../stages.js';
import { type PreflightProblem, routeEnv } from './problem.js';

/** Errors that say "this function does not exist here". */
const NOT_FOUND = new Set(['ResourceNotFoundException']);
/** Errors that say the caller cannot be authenticated, or is denied the call itself. */
const CREDENTIALS = new Set([
  'CredentialsProviderError',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
]);
const DENIED = new Set(['AccessDeniedException', 'AccessDenied']);
/**
 * An endpoint that serves invokes but neither check: `sam local start-lambda` answers GetFunction
 * with 404 and a DryRun invoke with 501 NotImplemented. It answered, so it is reachable; whether
 * the function resolves cannot be known without running it.
 */
const CANNOT_CHECK = new Set(['NotImplemented']);

function functionSetting(route: Route, index: number): string {
  return `set ${routeEnv(route.name, 'FUNCTION_NAME')} or routes[${index}].function in the config`;
}

export function checkInProcessFunctions(routes: readonly Route[]): PreflightProblem[] {
  return routes.flatMap((route, index) =>
    isStageName(route.function)
      ? []
      : [
          {
            subject: `route ${route.name}`,
            problem: `no in-process function named ${JSON.stringify(route.function)} (this bridge carries ${STAGE_NAMES.join(', ')})`,
            fix: `${functionSetting(route, index)}, or invoke through Lambda with --invoke lambda`,
          },
        ],
  );
}

/** Region and credentials of a client that talks to AWS itself (no endpoint given). */
export async function checkAwsIdentity(
  client: LambdaClient,
  what: string,
  regionGiven: boolean,
): Promise<PreflightProblem[]> {
  if (!regionGiven)
    return [
      {
        subject: what,
        problem: 'no AWS region is configured',
        fix: 'set AWS_REGION (or invoke.region in the config), or --lambda-endpoint for a local endpoint',
      },
    ];
  try {
    await client.config.credentials();
    return [];
  } catch (error) {
    return [
      {
        subject: what,
        problem: `no AWS credentials: ${errorMessage(error)}`,
        fix: 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (or run with a task/instance role)',
      },
    ];
  }
}

export async function checkLambdaFunctions(
  client: LambdaClient,
  config: Pick<BridgeConfig, 'routes' | 'invoke'>,
  timeoutMs: number,
): Promise<PreflightProblem[]> {
  const where = config.invoke.endpoint ?? 'AWS Lambda';
  const problems: PreflightProblem[] = [];
  for (const [index, route] of config.routes.entries()) {
    const failure = await resolveFunction(client, route.function, timeoutMs);
    if (failure === undefined) continue;
    if (config.invoke.endpoint !== undefined && CANNOT_CHECK.has(failure.name)) continue;
    const name = failure.name;
    if (NOT_FOUND.has(name))
      problems.push({
        subject: `route ${route.name}`,
        problem: `function ${JSON.stringify(route.function)} not found at ${where}`,
        fix: functionSetting(route, index),
      });
    else if (CREDENTIALS.has(name))
      problems.push({
        subject: `route ${route.name}`,
        problem: `${where} refused the credentials (${name}: ${failure.message})`,
        fix: 'set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE',
      });
    else if (DENIED.has(name))
      problems.push({
        subject: `route ${route.name}`,
        problem: `not allowed to invoke function ${JSON.stringify(route.function)} (${failure.message})`,
        fix: 'grant lambda:InvokeFunction on it to the bridge, or --skip-preflight if only the check is denied',
      });
    else
      problems.push({
        subject: `route ${route.name}`,
        problem: `cannot reach the Lambda API at ${where} to check function ${JSON.stringify(route.function)} (${name}: ${failure.message})`,
        fix: 'set --lambda-endpoint / AWS_ENDPOINT_URL_LAMBDA (or invoke.endpoint) to an endpoint that answers',
      });
  }
  return problems;
}

interface CallFailure {
  readonly name: string;
  readonly message: string;
}

/** undefined when the function resolves; otherwise the error of the last check tried. */
async function resolveFunction(
  client: LambdaClient,
  functionName: string,
  timeoutMs: number,
): Promise<CallFailure | undefined> {
  // Loaded here, not at the top: a bridge that invokes in-process never loads the SDK.
  const { GetFunctionCommand, InvokeCommand } = await import('@aws-sdk/client-lambda');
  const options = () => ({ abortSignal: AbortSignal.timeout(timeoutMs) });
  const viaGetFunction = await call(() =>
    client.send(new GetFunctionCommand({ FunctionName: functionName }), options()),
  );
  if (
    viaGetFunction === undefined ||
    NOT_FOUND.has(viaGetFunction.name) ||
    CREDENTIALS.has(viaGetFunction.name)
  )
    return viaGetFunction;
  // Denied GetFunction, or an endpoint that does not serve it: ask with a DryRun invoke instead.
  return call(() =>
    client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'DryRun' }), options()),
  );
}

async function call(fn: () => Promise<unknown>): Promise<CallFailure | undefined> {
  try {
    await fn();
    return undefined;
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    const code = (error as { code?: unknown } | null)?.code;
    return {
      name,
      message: `${errorMessage(error)}${typeof code === 'string' && !errorMessage(error).includes(code) ? ` (${code})` : ''}`,
    };
  }
}
