import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A bad command line: the message names the flag or argument; the CLI exits 2. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** `node:util` parseArgs, strict, with its errors turned into CliUsageError. */
export function parseCommandLine<O extends Options>(command: string, args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CliUsageError(`${command}: ${message}`);
  }
}
