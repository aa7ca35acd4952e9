/**
 * The `etcd-bridge` command line: one module a command, dispatched here. `--help` and `--version`
 * are answered here from the command definitions, and every failure ends as one readable line
 * (with its stack and causes under `--verbose`) and an exit code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { packageRoot } from '../paths.js';
import { COMMAND_DEFINITIONS, type CommandDefinition, DLQ_SUBCOMMANDS } from './definitions.js';
import { describeFailure, failureDetails, setVerbose } from './failure.js';
import { renderHelp, topLevelHelp, usageLine } from './help.js';
import { CliFailure, CliUsageError } from './usage.js';

type Command = (args: string[]) => Promise<number>;

/** Loaded when run: `--help` stays quick, and one command's dependencies never hold up another's. */
const COMMANDS: Record<keyof typeof COMMAND_DEFINITIONS, () => Promise<Command>> = {
  dev: async () => (await import('./dev.js')).devCommand,
  start: async () => (await import('./start.js')).startCommand,
  status: async () => (await import('./status.js')).statusCommand,
  dlq: async () => (await import('./dlq.js')).dlqCommand,
  replay: async () => (await import('./replay.js')).replayCommand,
  invoke: async () => (await import('./invoke.js')).invokeCommand,
  'lambda-endpoint': async () => (await import('./lambda-endpoint.js')).lambdaEndpointCommand,
};

function isCommand(name: string): name is keyof typeof COMMAND_DEFINITIONS {
  return Object.hasOwn(COMMANDS, name);
}

export function packageVersion(): string {
  const text = readFileSync(join(packageRoot(), 'package.json'), 'utf8');
  const version = (JSON.parse(text) as { version?: unknown }).version;
  return typeof version === 'string' ? version : 'unknown';
}

/** The definition `--help` is about: the command's, or a dlq subcommand's when one is named. */
function definitionFor(name: keyof typeof COMMAND_DEFINITIONS, args: string[]): CommandDefinition {
  if (name === 'dlq') {
    const sub = args.find((a) => !a.startsWith('-'));
    if (sub !== undefined && Object.hasOwn(DLQ_SUBCOMMANDS, sub))
      return DLQ_SUBCOMMANDS[sub as keyof typeof DLQ_SUBCOMMANDS];
  }
  return COMMAND_DEFINITIONS[name];
}

export async function main(argv: string[]): Promise<number> {
  // --verbose is everyone's: taken off before the command's own (strict) parser sees the line.
  const verbose = argv.includes('--verbose');
  const [name, ...args] = argv.filter((a) => a !== '--verbose');
  setVerbose(verbose);
  const version = packageVersion();
  if (name === undefined) {
    process.stderr.write(topLevelHelp(version));
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const about = args[0];
    process.stdout.write(
      about !== undefined && isCommand(about)
        ? renderHelp(definitionFor(about, args.slice(1)))
        : topLevelHelp(version),
    );
    return 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  if (!isCommand(name)) {
    process.stderr.write(`etcd-bridge: unknown command ${JSON.stringify(name)}\n${topLevelHelp(version)}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(renderHelp(definitionFor(name, args)));
    return 0;
  }
  try {
    const command = await COMMANDS[name]();
    return await command(args);
  } catch (error) {
    if (error instanceof CliUsageError) {
      const def = definitionFor(name, args);
      process.stderr.write(
        `etcd-bridge: ${error.message}\nusage: ${usageLine(def)}\n(etcd-bridge ${def.name} --help for more)\n`,
      );
      return 2;
    }
    const code = error instanceof CliFailure ? error.exitCode : error instanceof ConfigError ? 2 : 1;
    // A CliFailure is worded already (one line a problem); anything else is boiled down to its cause.
    const message = error instanceof CliFailure ? error.message : describeFailure(error);
    process.stderr.write(`etcd-bridge ${name}: ${message}\n`);
    if (verbose) process.stderr.write(failureDetails(error));
    else if (code === 1) process.stderr.write('(--verbose shows the details)\n');
    return code;
  }
}
