/** The `etcd-bridge` command line: one module a command, dispatched here. */
import { ConfigError } from '../errors.js';
import { BENCH_USAGE, benchCommand } from './bench.js';
import { DEV_USAGE, devCommand } from './dev.js';
import { DLQ_USAGE, dlqCommand } from './dlq.js';
import { INVOKE_USAGE, invokeCommand } from './invoke.js';
import { LAMBDA_ENDPOINT_USAGE, lambdaEndpointCommand } from './lambda-endpoint.js';
import { REPLAY_USAGE, replayCommand } from './replay.js';
import { START_USAGE, startCommand } from './start.js';
import { STATUS_USAGE, statusCommand } from './status.js';
import { CliUsageError } from './usage.js';

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; usage: string }> = {
  dev: { run: devCommand, usage: DEV_USAGE },
  start: { run: startCommand, usage: START_USAGE },
  'lambda-endpoint': { run: lambdaEndpointCommand, usage: LAMBDA_ENDPOINT_USAGE },
  invoke: { run: invokeCommand, usage: INVOKE_USAGE },
  replay: { run: replayCommand, usage: REPLAY_USAGE },
  status: { run: statusCommand, usage: STATUS_USAGE },
  dlq: { run: dlqCommand, usage: DLQ_USAGE },
  bench: { run: benchCommand, usage: BENCH_USAGE },
};

function usage(): string {
  return ['usage:', ...Object.values(COMMANDS).map((c) => `  ${c.usage}`)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`etcd-bridge: unknown command ${JSON.stringify(name)}\n${usage()}\n`);
    return 2;
  }
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof CliUsageError) {
      process.stderr.write(`etcd-bridge: ${error.message}\nusage: ${command.usage}\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`etcd-bridge ${name}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
