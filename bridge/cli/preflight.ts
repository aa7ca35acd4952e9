/** `start` and `dev`: run the preflight checks; any problem ends the command with exit 2. */
import type { BridgeConfig } from '../config.js';
import type { BridgeLogger } from '../log.js';
import { type PreflightOptions, preflight } from '../preflight/preflight.js';
import { formatProblem } from '../preflight/problem.js';
import { CliFailure } from './usage.js';

export async function runPreflight(
  config: BridgeConfig,
  logger: BridgeLogger,
  options: PreflightOptions = {},
): Promise<void> {
  const problems = await preflight(config, options);
  if (problems.length === 0) {
    logger.log('info', 'preflight passed', {
      routes: config.routes.map((r) => `${r.name}=${r.function}`).join(', '),
      invoke: config.invoke.mode,
      deadLetter: config.deadLetter.sink,
    });
    return;
  }
  const lines = problems.map(formatProblem);
  throw new CliFailure(
    `preflight failed (nothing was started; --skip-preflight skips these checks):\n${lines.map((l) => `  ${l}`).join('\n')}`,
    2,
  );
}
