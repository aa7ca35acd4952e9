/**
 * The flags every etcd-using command shares (defined in definitions.ts), laid over the config file
 * and the environment.
 */
import {
  applyEnvironment,
  type BridgeConfig,
  parseBridgeConfig,
  readConfigFile,
  routeObjects,
} from '../config.js';
import { CliUsageError } from './usage.js';

export interface ConfigFlagValues {
  config?: string | undefined;
  etcd?: string | undefined;
  group?: string | undefined;
  invoke?: string | undefined;
  'lambda-endpoint'?: string | undefined;
  'start-position'?: string | undefined;
  'metrics-port'?: string | undefined;
}

export async function configFromFlags(values: ConfigFlagValues): Promise<BridgeConfig> {
  const raw = applyEnvironment(values.config ? await readConfigFile(values.config) : {});
  if (values.etcd !== undefined) {
    raw.etcd = {
      ...((raw.etcd as object | undefined) ?? {}),
      endpoints: values.etcd.split(',').map((s) => s.trim()),
    };
  }
  if (values.group !== undefined) raw.group = values.group;
  if (values.invoke !== undefined || values['lambda-endpoint'] !== undefined) {
    const invoke = { ...((raw.invoke as Record<string, unknown> | undefined) ?? {}) };
    if (values.invoke !== undefined) {
      if (values.invoke !== 'inprocess' && values.invoke !== 'lambda') {
        throw new CliUsageError(`--invoke must be inprocess or lambda, got ${values.invoke}`);
      }
      invoke.mode = values.invoke;
    }
    if (values['lambda-endpoint'] !== undefined) {
      invoke.endpoint = values['lambda-endpoint'];
      // Flags come after the file: the endpoint means lambda, unless --invoke says otherwise.
      if (values.invoke === undefined) invoke.mode = 'lambda';
    }
    raw.invoke = invoke;
  }
  if (values['start-position'] !== undefined) {
    const position = values['start-position'];
    // Checked here, once, in the flag's words: the schema would name routes.N.startPosition, once a route.
    if (!/^(latest|earliest|resync|[1-9][0-9]{0,18})$/.test(position))
      throw new CliUsageError(
        `--start-position must be latest, earliest, resync or a revision (a decimal number of 1 or more), got ${position}`,
      );
    // Routes of the wrong shape are left as they are, for the schema to name the field.
    for (const route of routeObjects(raw.routes)) route.startPosition = position;
  }
  if (values['metrics-port'] !== undefined) {
    const port = Number(values['metrics-port']);
    if (!/^[0-9]+$/.test(values['metrics-port']) || port > 65_535)
      throw new CliUsageError(
        `--metrics-port must be a port number 0-65535 (0 turns /metrics off), got ${values['metrics-port']}`,
      );
    raw.observability = { ...((raw.observability as object | undefined) ?? {}), port };
  }
  return parseBridgeConfig(raw, values.config ?? 'configuration');
}
