import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { FlagDefinition } from './definitions.js';

/** A bad command line: the message names the flag or argument; the CLI exits 2. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

/**
 * A failure the command has already explained in one line (a busy port, a failed preflight): the
 * CLI prints the message and exits with `exitCode`; the cause is shown under --verbose only.
 */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CliFailure';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs, strict, over a command's flag definitions (their help text stripped off),
 * with its errors turned into CliUsageError.
 */
export function parseCommandLine<O extends Options & Readonly<Record<string, FlagDefinition>>>(
  command: string,
  args: string[],
  options: O,
) {
  const parserOptions = Object.fromEntries(
    Object.entries(options).map(([name, flag]) => [
      name,
      {
        type: flag.type,
        ...(flag.short !== undefined ? { short: flag.short } : {}),
        ...(flag.default !== undefined ? { default: flag.default } : {}),
      },
    ]),
  ) as O;
  try {
    return parseArgs({ args, options: parserOptions, strict: true, allowPositionals: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CliUsageError(`${command}: ${message}`);
  }
}
