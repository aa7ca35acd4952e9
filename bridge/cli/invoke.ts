/**
 * `etcd-bridge invoke <stage> --event FILE`: run a stage function in-process on one event, as
 * `sam local invoke` does. stdout carries exactly the function's response JSON; logs go to stderr.
 */
import { Console } from 'node:console';
import { readFile } from 'node:fs/promises';
import { createLambdaContext } from '../invoke/lambda-context.js';
import { isStageName, loadStageHandler, STAGE_NAMES } from '../stages.js';
import { INVOKE_COMMAND } from './definitions.js';
import { CliUsageError, parseCommandLine } from './usage.js';

export async function invokeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine('invoke', args, INVOKE_COMMAND.flags);
  const stage = positionals[0];
  if (stage === undefined || !isStageName(stage) || positionals.length > 1) {
    throw new CliUsageError(
      `invoke: expected one stage (${STAGE_NAMES.join(' | ')}), got ${positionals.join(' ') || 'none'}`,
    );
  }
  if (values.event === undefined) throw new CliUsageError('invoke: --event FILE is required');
  const timeoutMs = Number(values['timeout-ms']);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    throw new CliUsageError('invoke: --timeout-ms must be a positive integer');

  let event: unknown;
  try {
    event = JSON.parse(await readFile(values.event, 'utf8'));
  } catch (error) {
    throw new CliUsageError(
      `invoke: --event ${values.event}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }

  // Powertools writes logs and metrics to stdout; stdout here is the response alone. In dev mode
  // Powertools uses the global console, which we point at stderr before the handler is loaded.
  process.env.POWERTOOLS_DEV = 'true';
  globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr });

  const handler = await loadStageHandler(stage);
  try {
    const response = await handler(event, createLambdaContext({ functionName: stage, timeoutMs }));
    process.stdout.write(`${JSON.stringify(response)}\n`);
    return 0;
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    // The parser's "Failed to parse schema" says little; its cause (Standard Schema issues) names the field.
    const cause = describeCause(err.cause);
    process.stdout.write(
      `${JSON.stringify({ errorType: err.name, errorMessage: `${err.message}${cause}` })}\n`,
    );
    return 1;
  }
}

/** The parser's cause: an Error, or a list of Standard Schema issues ({ message, path }). */
function describeCause(cause: unknown): string {
  if (cause instanceof Error) return `: ${cause.message}`;
  if (!Array.isArray(cause)) return '';
  const issues = cause.map((issue: { message?: unknown; path?: ReadonlyArray<unknown> }) => {
    const path = (issue.path ?? [])
      .map((p) =>
        typeof p === 'object' && p !== null && 'key' in p ? String((p as { key: unknown }).key) : String(p),
      )
      .join('.');
    return `${path || '(event)'}: ${String(issue.message)}`;
  });
  return issues.length > 0 ? `: ${issues.join('; ')}` : '';
}
