/**
 * `etcd-bridge start`: lead the group and run every route until SIGTERM/SIGINT (drain, exit 0) or
 * lost leadership (exit 3, for the supervisor to restart us as a follower).
 */
import { Bridge } from '../bridge.js';
import { LeadershipLostError } from '../errors.js';
import { explainEtcdFailure } from '../etcd/client.js';
import { createLogger } from '../log.js';
import { startObservability } from '../observability/server.js';
import { configFromFlags } from './config-flags.js';
import { START } from './definitions.js';
import { listenOrExplain } from './ports.js';
import { runPreflight } from './preflight.js';
import { CliFailure, CliUsageError, parseCommandLine } from './usage.js';

/** How long a graceful stop (SIGTERM/SIGINT) may drain, and a failed bridge may take to go. */
const SHUTDOWN_GRACE_MS = 20_000;
const FATAL_EXIT_GRACE_MS = 3_000;

/** Exit code when leadership is lost: not a crash, but the work loop must not limp on. */
export const EXIT_LEADERSHIP_LOST = 3;

export async function startCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine('start', args, START.flags);
  if (positionals.length > 0) throw new CliUsageError(`start: unexpected argument ${positionals[0]}`);
  const config = await configFromFlags(values);
  const logger = createLogger();
  // What would dead-letter every record (no such function, no credentials, a queue that does not
  // answer) is found before campaigning, and exits 2 naming the setting.
  if (!values['skip-preflight']) await runPreflight(config, logger);

  const observability = await listenOrExplain(() => startObservability(config.observability, logger), {
    port: config.observability.port,
    host: config.observability.host,
    flag: '--metrics-port',
    off: '0 turns it off',
  });
  // Until this bridge leads there is nothing to drain (a standby may campaign for hours): a signal
  // then just ends the process; the campaign's lease expires on its own.
  const beforeLeading = (signal: NodeJS.Signals) => {
    logger.log('info', 'stopping before leading', { reason: signal });
    process.exit(0);
  };
  process.once('SIGTERM', beforeLeading);
  process.once('SIGINT', beforeLeading);
  let bridge: Bridge;
  try {
    bridge = await Bridge.start(config, { logger, invokeLatency: observability.invokeLatency });
  } catch (error) {
    // explainEtcdFailure names the setting at fault (password, CA, client certificate, http vs
    // https): gRPC's own message for a failed TLS handshake says only "No connection established".
    const explained = await explainEtcdFailure(config.etcd, error);
    logger.log('error', 'bridge failed to start', { error: explained });
    await observability.close();
    // The log line is for the log store; whoever ran the command gets one line on stderr too.
    throw new CliFailure(`the bridge failed to start: ${explained}`, 1, { cause: error });
  }
  observability.attach(bridge);

  return new Promise<number>((resolve) => {
    let exiting = false;
    const exit = async (code: number, reason: string) => {
      if (exiting) return;
      exiting = true;
      logger.log('info', 'stopping', { reason });
      // Stopping must end in an exit even when etcd does not answer (resigning a lost lease, a
      // last checkpoint): a graceful drain gets its time, a bridge that lost leadership very little.
      setTimeout(
        () => {
          logger.log('warn', 'shutdown took too long; exiting now', { reason });
          process.exit(code);
        },
        code === 0 ? SHUTDOWN_GRACE_MS : FATAL_EXIT_GRACE_MS,
      ).unref();
      await bridge.stop();
      await observability.close();
      resolve(code);
    };
    // The draining handlers go on before the early ones come off: no instant without a handler.
    // `on`, not `once`: a second signal while draining (npm forwards a terminal's Ctrl-C, so it
    // comes twice) must not kill the drain; the grace timer bounds how long it may take.
    process.on('SIGTERM', () => void exit(0, 'SIGTERM'));
    process.on('SIGINT', () => void exit(0, 'SIGINT'));
    process.removeListener('SIGTERM', beforeLeading);
    process.removeListener('SIGINT', beforeLeading);
    bridge.onFatal(
      (error) => void exit(error instanceof LeadershipLostError ? EXIT_LEADERSHIP_LOST : 1, error.message),
    );
  });
}
