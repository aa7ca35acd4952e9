/**
 * `etcd-bridge dev` (what `npm start` runs): etcd, the local Lambda endpoint and the bridge
 * invoking the stage functions through it over HTTP; then the seed demo. Keeps running until
 * Ctrl-C; `--once` plays the demo and exits 0 when (2) and (3) are byte-identical to the seed.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { Bridge } from '../bridge.js';
import { parseBridgeConfig } from '../config.js';
import { describeRecord, playSeed } from '../demo/play-seed.js';
import { asyncFailuresToEtcd } from '../dlq/async-invoke-failures.js';
import { errorMessage } from '../errors.js';
import { EmbeddedEtcd, freePort } from '../etcd/embedded-etcd.js';
import { headRevision } from '../etcd/head.js';
import { keyspaceFor } from '../keyspace.js';
import { startLambdaEndpoint } from '../lambda-endpoint/server.js';
import { parseRuntime, stageFunctionHost } from '../lambda-endpoint/stage-host.js';
import { createLogger } from '../log.js';
import { startObservability } from '../observability/server.js';
import { packageRoot } from '../paths.js';
import { DEV } from './definitions.js';
import { endpointLog } from './lambda-endpoint.js';
import { runPreflight } from './preflight.js';
import { printRecordLines } from './record-lines.js';
import { CliFailure, CliUsageError, parseCommandLine } from './usage.js';

const GROUP = 'dev';
/** A second Ctrl-C later than this after the first forces the exit. */
const FORCE_AFTER_MS = 2_000;

export async function devCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine('dev', args, DEV.flags);
  if (positionals.length > 0) throw new CliUsageError(`dev: unexpected argument ${positionals[0]}`);
  const ports = {
    etcd: portFlag('--etcd-port', values['etcd-port']),
    lambda: portFlag('--lambda-port', values['lambda-port']),
    metrics: portFlag('--metrics-port', values['metrics-port']),
  };
  const runtime = parseRuntime(values.runtime);
  if (!runtime) throw new CliUsageError(`dev: --runtime must be inprocess or ric, got ${values.runtime}`);
  const logger = createLogger({ pretty: process.stderr.isTTY || undefined });
  // On a terminal the record lines and the bridge's own warnings say what each record did; the
  // functions' JSON lines (a rejected record's warning, say) would repeat it. Set
  // POWERTOOLS_LOG_LEVEL yourself to see them.
  if (process.stdout.isTTY) process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  const say = (line: string) => process.stdout.write(`${line}\n`);
  // Undone in reverse: the bridge drains and resigns its leadership while etcd still runs, so a
  // restart is elected at once and nothing on the way out finds etcd gone.
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => {});
  };
  // Taken from the start: Ctrl-C during start-up still stops everything in order.
  // Kept on while stopping: `npm start` forwards the terminal's Ctrl-C, so one keypress arrives
  // twice, and a second SIGINT without a handler would kill dev halfway through its stop. Only a
  // signal well after the first means "stop now, without draining".
  let firstSignalAt: number | undefined;
  const stopSignal = new Promise<number>((resolve) => {
    const onSignal = () => {
      if (firstSignalAt === undefined) {
        firstSignalAt = Date.now();
        resolve(0);
      } else if (Date.now() - firstSignalAt > FORCE_AFTER_MS) {
        process.stderr.write('etcd-bridge dev: stopping now, without draining\n');
        process.exit(130);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

  try {
    const dataDir = values['data-dir'] ?? join(packageRoot(), '.data', 'etcd');
    // Released last, once etcd has stopped.
    cleanups.push(lockDataDir(dataDir));
    const etcd = await EmbeddedEtcd.start({
      dataDir,
      clientPort: await preferredPort(ports.etcd),
      log: () => {},
      // Its own process group: the terminal's Ctrl-C reaches us only, and we stop etcd last.
      detached: true,
    });
    cleanups.push(() => etcd.stop());
    say(`etcd            ${etcd.clientUrl}  (data in ${dataDir})`);

    const bridgeConfig = (endpoint: string) =>
      parseBridgeConfig({
        etcd: { endpoints: [etcd.clientUrl] },
        group: GROUP,
        invoke: { mode: 'lambda', endpoint },
        observability: { port: 0 },
      });
    const observability = await startObservability(
      { ...parseBridgeConfig({}).observability, port: await preferredPort(ports.metrics) },
      logger,
    );
    cleanups.push(() => observability.close());

    const { Etcd3 } = await import('etcd3');
    const dlqClient = new Etcd3({ hosts: etcd.clientUrl });
    cleanups.push(() => dlqClient.close());
    const endpoint = await startLambdaEndpoint({
      functionHost: await stageFunctionHost({ runtime, logger }),
      port: await preferredPort(ports.lambda),
      log: endpointLog(logger),
      onAsyncFailure: asyncFailuresToEtcd(dlqClient, keyspaceFor(GROUP), (m, f) => logger.log('warn', m, f)),
    });
    cleanups.push(() => endpoint.close());
    say(`Lambda endpoint ${endpoint.url}  (heat-stacks, job-state; runtime ${runtime})`);

    const config = bridgeConfig(endpoint.url);
    if (!values['skip-preflight']) await runPreflight(config, logger);
    const bridge = await Bridge.start(config, {
      logger,
      invokeLatency: observability.invokeLatency,
    });
    cleanups.push(() => bridge.stop());
    observability.attach(bridge);
    say(`bridge          group "${GROUP}", invoking over HTTP; ${observability.url ?? ''}/metrics`);
    if (process.stdout.isTTY) {
      const lines = await printRecordLines(
        dlqClient,
        keyspaceFor(GROUP),
        config.routes.map((r) => r.name),
        (await headRevision(dlqClient)) + 1n,
        say,
      );
      cleanups.push(() => lines.close());
    }
    say('');
    say("Playing the seed: config record (version 2), the job's {} placeholder, heat stack record (1)...");
    say('');

    const shown = await playSeed(bridge);
    for (const record of shown) say(describeRecord(record));
    const ok = shown.every((r) => r.identical);
    say(
      ok
        ? 'Records (1), (2) and (3) are identical to the seed.'
        : 'Some records differ from the seed (see above).',
    );

    if (values.once) {
      await cleanup();
      return ok ? 0 : 1;
    }
    const ctl = `ETCDCTL_API=3 etcdctl --endpoints ${etcd.clientUrl}`;
    say('');
    say('The pipeline keeps running. In another terminal (etcdctl: apt-get install etcd-client):');
    say(`  ${ctl} watch --prefix /state/`);
    say(
      `  ${ctl} put /esi-worker/heat_stacks/v2.0/ports/demo-1 '{"stack_status": "CREATE_COMPLETE", "output": [{"output_key": "ip", "output_value": "10.0.0.7"}], "status_reason": "ok"}'`,
    );
    say('and what the bridge says about it (this bridge runs as group "dev"):');
    say(`  npx etcd-bridge status --etcd ${etcd.clientUrl} --group ${GROUP}`);
    say(`  npx etcd-bridge dlq list --etcd ${etcd.clientUrl} --group ${GROUP}`);
    say('Ctrl-C stops everything.');
    if (process.stdout.isTTY) say('\nRecords as the bridge processes them:');

    const code = await Promise.race([
      stopSignal,
      new Promise<number>((resolve) => bridge.onFatal(() => resolve(1))),
    ]);
    say('stopping...');
    await cleanup();
    return code;
  } catch (error) {
    await cleanup();
    // A failed preflight or busy port is explained by main (exit 2); anything else is a failure.
    if (error instanceof CliFailure || error instanceof CliUsageError) throw error;
    process.stderr.write(`etcd-bridge dev: ${errorMessage(error)}\n`);
    return 1;
  }
}

/**
 * One dev per data dir: a second etcd on it waits for the first one's flock on its db and fails
 * after the start timeout. Held in `<data dir>.dev.pid`; a file whose process is gone is stale.
 */
function lockDataDir(dataDir: string): () => void {
  const lock = `${dataDir}.dev.pid`;
  mkdirSync(dirname(lock), { recursive: true });
  for (;;) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let pid = Number.NaN;
    try {
      pid = Number(readFileSync(lock, 'utf8').trim());
    } catch {
      continue; // released meanwhile
    }
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid))
      throw new CliFailure(
        `data dir ${dataDir} is in use by another etcd-bridge dev (pid ${pid}); stop it, or give this one another --data-dir`,
        2,
      );
    rmSync(lock, { force: true });
  }
  const release = () => rmSync(lock, { force: true });
  process.once('exit', release);
  return release;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function portFlag(flag: string, value: string | undefined): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new CliUsageError(`dev: ${flag} must be a port number, got ${value}`);
  return port;
}

/** The preferred port if it is free on 127.0.0.1, else any free port (a second `npm start` still works). */
async function preferredPort(port: number): Promise<number> {
  if (port === 0) return freePort();
  const free = await new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  return free ? port : freePort();
}
