/**
 * The bridge's configuration: a JSON file (optional), then the environment, then command-line
 * flags, validated once with zod. Every error names the field; unknown fields are errors.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { compileKeyPattern, DEFAULT_ROUTES, RouteSchema } from '../shared/index.js';
import { ConfigError, errorMessage } from './errors.js';
import { BOOKKEEPING_ROOT } from './keyspace.js';

export const DEFAULT_ETCD_ENDPOINT = 'http://127.0.0.1:2379';

/** `http(s)://host[:port]`, nothing after it but an optional `/`; an IPv6 host in brackets. */
const ETCD_ENDPOINT = /^(https?):\/\/(\[[0-9A-Fa-f:.]+\]|[^/:?#@\s[\]]+)(?::(\d{1,5}))?\/?$/;

/**
 * One etcd endpoint, written out as `scheme://host:port`. etcd3 hands the host and port to gRPC,
 * whose default port is 443 whatever the scheme, so a missing port becomes etcd's own 2379; and
 * gRPC cannot parse a trailing `/`.
 */
export const EtcdEndpointSchema = z.string().transform((url, ctx) => {
  const match = ETCD_ENDPOINT.exec(url);
  const port = Number(match?.[3] ?? 2379);
  if (!match || port < 1 || port > 65_535) {
    ctx.addIssue({ code: 'custom', message: `must be http(s)://host[:port], got ${JSON.stringify(url)}` });
    return z.NEVER;
  }
  return `${match[1]}://${match[2]}:${port}`;
});

const EtcdConfigSchema = z.strictObject({
  endpoints: z.array(EtcdEndpointSchema).min(1).default([DEFAULT_ETCD_ENDPOINT]),
  username: z.string().min(1).optional(),
  password: z.string().optional(),
  /** TLS: PEM text or a file path for each (PEM text wins when both are given). */
  caPem: z.string().optional(),
  certPem: z.string().optional(),
  keyPem: z.string().optional(),
  caFile: z.string().optional(),
  certFile: z.string().optional(),
  keyFile: z.string().optional(),
  /**
   * Deadline of one unary etcd call. 5 s: a member cut off from its peers holds the calls it took
   * just before it noticed (a write until etcd's 7 s request timeout, a read until the deadline);
   * this bounds them well inside a 10 s latency target, and is ~1000x a healthy etcd's latency.
   */
  callTimeoutMs: z.number().int().min(100).max(300_000).default(5_000),
  /**
   * etcd's `--max-txn-ops` (operations and compares one transaction may hold; etcd's default is
   * 128). The committer packs up to this many into one commit and the snapshot reads chunk by it;
   * raise both together: fewer, larger commits mean fewer fsyncs (+15-20% measured at 512).
   */
  maxTxnOps: z.number().int().min(16).max(1_000_000).default(128),
});

export const BridgeConfigSchema = z
  .strictObject({
    etcd: EtcdConfigSchema.default(EtcdConfigSchema.parse({})),
    /** Bridges of one group elect one leader among them and share checkpoints. */
    group: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, "_", "." and "-"')
      .default('default'),
    routes: z
      .array(RouteSchema)
      .min(1)
      .default(DEFAULT_ROUTES.map((route) => RouteSchema.parse(route))),
    invoke: z
      .strictObject({
        mode: z.enum(['inprocess', 'lambda']).default('inprocess'),
        /** Lambda endpoint (LocalStack, `sam local start-lambda`, ours); default: AWS_ENDPOINT_URL_LAMBDA or AWS. */
        endpoint: z.url().optional(),
        region: z.string().optional(),
        /** One invocation, the network included: above the function's own timeout (Lambda's longest is 900 s). */
        timeoutMs: z.number().int().min(100).max(960_000).default(60_000),
      })
      .default({ mode: 'inprocess', timeoutMs: 60_000 }),
    /** Records held at once over all keys of a route; above it the watch pauses. */
    maxInFlight: z.number().int().min(1).max(1_000_000).default(2_000),
    /** Lease of the leader key: a bridge frozen longer than this loses leadership. */
    leaseTtlSeconds: z.number().int().min(2).max(600).default(5),
    deadLetter: z
      .strictObject({
        sink: z.enum(['etcd', 'sqs']).default('etcd'),
        /** SQS queue URL per route name. */
        queueUrls: z.record(z.string(), z.url()).default({}),
        region: z.string().optional(),
      })
      .default({ sink: 'etcd', queueUrls: {} }),
    observability: z
      .strictObject({
        /** Port of /healthz and /metrics; 0 turns the server off. */
        port: z.number().int().min(0).max(65_535).default(9464),
        host: z.string().default('127.0.0.1'),
        /** How often the lag goes to stdout as CloudWatch EMF lines; 0 = never (set in ECS, from the environment). */
        emfIntervalMs: z.number().int().min(0).max(3_600_000).default(0),
      })
      .default({ port: 9464, host: '127.0.0.1', emfIntervalMs: 0 }),
    /** How often a checkpoint that moved without a commit (filtered events) is written. */
    checkpointFlushMs: z.number().int().min(50).max(60_000).default(1_000),
    /**
     * Hand-off: a route's committed outputs under another route's prefix (job_state) go to that
     * route straight from the commit, not back through its watch (docs/design.md, "Hand-off"). Assumes
     * the bridge is the only writer that deletes those keys: turn it off if other writers do.
     */
    handOff: z.boolean().default(true),
  })
  .superRefine((config, ctx) => {
    const names = new Set<string>();
    config.routes.forEach((route, i) => {
      if (names.has(route.name))
        ctx.addIssue({
          code: 'custom',
          path: ['routes', i, 'name'],
          message: `duplicate route name ${route.name}`,
        });
      names.add(route.name);
      // The prefix watched, not the pattern's text: `/{a}/{b}/{c}` watches `/`, and would invoke its
      // function on the bridge's own status and checkpoint records.
      const { prefix } = compileKeyPattern(route.keyPattern);
      if (prefix.startsWith(BOOKKEEPING_ROOT) || BOOKKEEPING_ROOT.startsWith(prefix)) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', i, 'keyPattern'],
          message: `must not watch the bridge's own ${BOOKKEEPING_ROOT} (the route watches the prefix ${JSON.stringify(prefix)}; start the pattern with a literal segment)`,
        });
      }
    });
    if (config.deadLetter.sink === 'sqs') {
      config.routes.forEach((route, i) => {
        if (!config.deadLetter.queueUrls[route.name]) {
          ctx.addIssue({
            code: 'custom',
            path: ['deadLetter', 'queueUrls', route.name],
            message: `no SQS queue URL for route ${i}`,
          });
        }
      });
    }
  });

export type BridgeConfig = z.infer<typeof BridgeConfigSchema>;
export type BridgeConfigInput = z.input<typeof BridgeConfigSchema>;

/** Validate a config object; the error lists every bad field by path. */
export function parseBridgeConfig(input: unknown, source = 'config'): BridgeConfig {
  const result = BridgeConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
}

export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`--config ${path}: ${errorMessage(error)}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new Error('expected a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`--config ${path}: not a JSON object: ${errorMessage(error)}`);
  }
}

/**
 * Settings from the environment (what the container in AWS is given), laid over the file's.
 * Function names, DLQ URLs and invoke concurrency are per stage: HEAT_STACKS_FUNCTION_NAME,
 * JOB_STATE_DLQ_URL, HEAT_STACKS_CONCURRENCY, ...
 */
export function applyEnvironment(
  config: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, unknown> {
  const out = structuredClone(config);
  const etcd = { ...((out.etcd as Record<string, unknown> | undefined) ?? {}) };
  if (env.ETCD_ENDPOINTS)
    etcd.endpoints = env.ETCD_ENDPOINTS.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (env.ETCD_USERNAME) etcd.username = env.ETCD_USERNAME;
  if (env.ETCD_PASSWORD) etcd.password = env.ETCD_PASSWORD;
  if (env.ETCD_CA_PEM) etcd.caPem = env.ETCD_CA_PEM;
  if (env.ETCD_CERT_PEM) etcd.certPem = env.ETCD_CERT_PEM;
  if (env.ETCD_KEY_PEM) etcd.keyPem = env.ETCD_KEY_PEM;
  if (Object.keys(etcd).length > 0) out.etcd = etcd;
  if (env.BRIDGE_GROUP) out.group = env.BRIDGE_GROUP;

  const routes = out.routes ?? DEFAULT_ROUTES.map((r) => ({ ...r }));
  const queueUrls: Record<string, string> = {};
  // Routes of the wrong shape are left as they are, for the schema to name the field.
  for (const route of routeObjects(routes)) {
    const envName = String(route.name).toUpperCase().replaceAll('-', '_');
    const fn = env[`${envName}_FUNCTION_NAME`];
    if (fn) route.function = fn;
    const dlq = env[`${envName}_DLQ_URL`];
    if (dlq) queueUrls[String(route.name)] = dlq;
    // A number, or left as text for the schema to refuse, naming routes.N.concurrency.
    const concurrency = env[`${envName}_CONCURRENCY`];
    if (concurrency) route.concurrency = /^\d+$/.test(concurrency) ? Number(concurrency) : concurrency;
  }
  out.routes = routes;
  if (Object.keys(queueUrls).length > 0) {
    const deadLetter = { ...((out.deadLetter as Record<string, unknown> | undefined) ?? {}) };
    // The environment comes after the file: a queue URL given there selects SQS whatever the file says.
    deadLetter.sink = 'sqs';
    deadLetter.queueUrls = {
      ...((deadLetter.queueUrls as Record<string, string> | undefined) ?? {}),
      ...queueUrls,
    };
    out.deadLetter = deadLetter;
  }
  if (env.AWS_ENDPOINT_URL_LAMBDA || env.INVOKE_TIMEOUT_MS) {
    const invoke = { ...((out.invoke as Record<string, unknown> | undefined) ?? {}) };
    if (env.AWS_ENDPOINT_URL_LAMBDA) invoke.endpoint = env.AWS_ENDPOINT_URL_LAMBDA;
    // A number, or left as text for the schema to refuse, naming invoke.timeoutMs.
    if (env.INVOKE_TIMEOUT_MS)
      invoke.timeoutMs = /^\d+$/.test(env.INVOKE_TIMEOUT_MS)
        ? Number(env.INVOKE_TIMEOUT_MS)
        : env.INVOKE_TIMEOUT_MS;
    out.invoke = invoke;
  }
  if (env.ECS_CONTAINER_METADATA_URI_V4) {
    // In ECS the lag also goes to CloudWatch as EMF lines, once a minute (the alarms' period).
    const observability = { ...((out.observability as Record<string, unknown> | undefined) ?? {}) };
    observability.emfIntervalMs ??= ECS_EMF_INTERVAL_MS;
    out.observability = observability;
  }
  return out;
}

export const ECS_EMF_INTERVAL_MS = 60_000;

/** The entries of a raw `routes` that are objects (none when it is not an array). */
export function routeObjects(routes: unknown): Array<Record<string, unknown>> {
  if (!Array.isArray(routes)) return [];
  return routes.filter(
    (route): route is Record<string, unknown> => typeof route === 'object' && route !== null,
  );
}

/**
 * The log level from LOG_LEVEL (default `info`). Read apart from the configuration because the
 * logger exists before the configuration is parsed: it reports what is wrong with it.
 */
export function logLevelFromEnvironment(env: NodeJS.ProcessEnv = process.env): string {
  return env.LOG_LEVEL ?? 'info';
}

/** Passwords and keys never reach logs or `status`. */
export function redactConfig(config: BridgeConfig): unknown {
  return {
    ...config,
    etcd: {
      ...config.etcd,
      password: config.etcd.password === undefined ? undefined : '***',
      keyPem: config.etcd.keyPem === undefined ? undefined : '***',
      certPem: config.etcd.certPem === undefined ? undefined : '(pem)',
      caPem: config.etcd.caPem === undefined ? undefined : '(pem)',
    },
  };
}
