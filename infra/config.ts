import { z } from 'zod';
import { LAG_COUNT_LIMIT, STAGE_NAMES, type StageName } from '../shared/index.js';

/**
 * Typed, validated configuration of the CDK app, read from CDK context.
 *
 * Every setting is a context key `etcdBridge:<field>`, given in `cdk.json` (`"context"`) or on the command
 * line (`npx cdk synth -c etcdBridge:desiredCount=2`). Values from the command line are always strings, so
 * numbers and lists are also accepted in string form (`"2"`, `"a,b"`).
 *
 * An unknown `etcdBridge:*` key or an invalid value fails synth with a message naming the key. Keys outside
 * the `etcdBridge:` namespace (CDK feature flags, `aws:cdk:*`) are not this reader's business.
 *
 * docs/deploy.md has the same reference as a table; keep the two in step.
 */

/** The context namespace of this app's settings. */
export const CONTEXT_PREFIX = 'etcdBridge:';

/** The CloudWatch Logs retention periods CloudFormation accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** The two stage functions (their one home is shared/names.ts), for the stacks that import them from here. */
export { STAGE_NAMES, type StageName };

/** Fargate's valid task sizes: CPU units → allowed memory (MiB). */
const FARGATE_MEMORY: Record<number, (memory: number) => boolean> = {
  256: (m) => [512, 1024, 2048].includes(m),
  512: (m) => m >= 1024 && m <= 4096 && m % 1024 === 0,
  1024: (m) => m >= 2048 && m <= 8192 && m % 1024 === 0,
  2048: (m) => m >= 4096 && m <= 16384 && m % 1024 === 0,
  4096: (m) => m >= 8192 && m <= 30720 && m % 1024 === 0,
};

const int = (min: number, max: number) =>
  z.preprocess(
    (value) => (typeof value === 'string' && value.trim() !== '' ? Number(value.trim()) : value),
    z.number().int().min(min).max(max),
  );

/**
 * A stage's reserved concurrency. 0 is refused: Lambda would throttle every invocation, and the bridge, which
 * retries throttles, would hold the stage's records for ever.
 */
const reservedConcurrency = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() !== '' ? Number(value.trim()) : value),
  z
    .number()
    .int()
    .min(1, 'must be at least 1: 0 throttles every invocation (leave it unset for the unreserved pool)')
    .max(1000),
);

const list = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '')
        : value,
    z.array(item).min(1),
  );

/** `https://host:2379` or `http://host:2379` (the bridge wants URLs; the port defaults to 2379). */
const ETCD_ENDPOINT = /^https?:\/\/[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::(\d{1,5}))?\/?$/;
const CIDR_V4 = /^(?:\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;

const schema = z
  .object({
    stackPrefix: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, 'must start with a letter and hold only letters, digits and -')
      .default('EtcdBridge'),
    account: z
      .string()
      .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
      .optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}(?:-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1')
      .optional(),
    vpcId: z
      .string()
      .regex(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id such as vpc-0123456789abcdef0')
      .optional(),
    maxAzs: int(1, 6).default(2),
    natGateways: int(1, 6).default(1),
    etcdEndpoints: list(
      z
        .string()
        .regex(ETCD_ENDPOINT, 'each endpoint must be a URL such as https://etcd-0.example.internal:2379')
        .refine((e) => Number(ETCD_ENDPOINT.exec(e)?.[1] ?? 2379) <= 65535, 'port must be at most 65535'),
    ),
    etcdPeerCidr: z.string().regex(CIDR_V4, 'must be an IPv4 CIDR such as 10.0.0.0/16').default('0.0.0.0/0'),
    etcdSecretArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/,
        'must be the complete ARN of a Secrets Manager secret (ending in the 6-character suffix)',
      )
      .optional(),
    bridgeGroup: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/,
        'must be 1-63 letters, digits, _ . - (starting with a letter or digit)',
      )
      .default('etcd-bridge'),
    desiredCount: int(0, 10).default(2),
    bridgeCpu: z
      .preprocess(
        (v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v),
        z.union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)]),
      )
      .default(256),
    bridgeMemoryMiB: int(512, 30720).default(512),
    architecture: z.enum(['ARM64', 'X86_64']).default('ARM64'),
    logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
    logRetentionDays: z
      .preprocess(
        (v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v),
        z.number().refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
          message: `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
        }),
      )
      .default(30),
    functionMemoryMiB: int(128, 10240).default(256),
    functionTimeoutSeconds: int(1, 900).default(30),
    heatStacksReservedConcurrency: reservedConcurrency.optional(),
    jobStateReservedConcurrency: reservedConcurrency.optional(),
    maxRetryAttempts: int(0, 2).default(2),
    maxEventAgeSeconds: int(60, 21600).default(3600),
    alarmTopicArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?$/,
        'must be the ARN of an SNS topic',
      )
      .optional(),
    // The bridge counts its lag up to LAG_COUNT_LIMIT: a threshold at or above it is an alarm that never fires.
    lagRevisionsThreshold: int(1, LAG_COUNT_LIMIT - 1).default(1000),
    lagSecondsThreshold: int(1, 86_400).default(300),
    lagEvaluationMinutes: int(1, 60).default(5),
    removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const memoryOk = FARGATE_MEMORY[c.bridgeCpu];
    if (memoryOk && !memoryOk(c.bridgeMemoryMiB)) {
      ctx.addIssue({
        code: 'custom',
        path: ['bridgeMemoryMiB'],
        message: `${c.bridgeMemoryMiB} MiB is not a valid Fargate memory size for ${c.bridgeCpu} CPU units`,
      });
    }
    if ((c.account === undefined) !== (c.region === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [c.account === undefined ? 'account' : 'region'],
        message: `give both ${CONTEXT_PREFIX}account and ${CONTEXT_PREFIX}region, or neither (environment-agnostic stacks)`,
      });
    } else if (c.vpcId !== undefined) {
      for (const field of ['account', 'region'] as const) {
        if (c[field] === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [field],
            message: `is required when ${CONTEXT_PREFIX}vpcId is set (the VPC lookup needs a concrete environment)`,
          });
        }
      }
    }
  });

type Parsed = z.output<typeof schema>;

/** The validated settings, with defaults applied. See docs/deploy.md for each field. */
export interface BridgeConfig extends Readonly<Parsed> {
  /** The distinct TCP ports of the etcd endpoints (2379 when an endpoint has none). */
  readonly etcdPorts: readonly number[];
  /** Reserved concurrency per stage (undefined: unreserved). */
  readonly reservedConcurrency: Readonly<Record<StageName, number | undefined>>;
  /** Stack environment: both account and region from context, or undefined (environment-agnostic). */
  readonly env: { readonly account: string; readonly region: string } | undefined;
}

/** Thrown for invalid context; the message names each offending `etcdBridge:*` key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Validates the given context (all keys, as from `node.getAllContext()`); only `etcdBridge:*` keys are read.
 * @throws ConfigError naming each invalid or unknown key
 */
export function parseConfig(context: Readonly<Record<string, unknown>>): BridgeConfig {
  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(context)) {
    if (key.startsWith(CONTEXT_PREFIX) && value !== undefined && value !== null) {
      settings[key.slice(CONTEXT_PREFIX.length)] = value;
    }
  }
  const result = schema.safeParse(settings);
  if (!result.success) {
    const lines = result.error.issues.flatMap((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((k) => `${CONTEXT_PREFIX}${k}: unknown setting`);
      }
      const field = issue.path.map(String).join('.');
      const message =
        issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message;
      return [`${CONTEXT_PREFIX}${field}: ${message}`];
    });
    throw new ConfigError(`Invalid CDK context (see docs/deploy.md):\n  ${lines.join('\n  ')}`);
  }
  const c = result.data;
  return {
    ...c,
    // Each endpoint with its port written out, no trailing `/`: the bridge's gRPC client would otherwise take an
    // endpoint without a port to 443 (gRPC's default), not to the 2379 the security group opens.
    etcdEndpoints: c.etcdEndpoints.map((e) => {
      const bare = e.replace(/\/$/, '');
      return ETCD_ENDPOINT.exec(e)?.[1] === undefined ? `${bare}:2379` : bare;
    }),
    etcdPorts: [...new Set(c.etcdEndpoints.map((e) => Number(ETCD_ENDPOINT.exec(e)?.[1] ?? 2379)))],
    reservedConcurrency: {
      'heat-stacks': c.heatStacksReservedConcurrency,
      'job-state': c.jobStateReservedConcurrency,
    },
    env:
      c.account !== undefined && c.region !== undefined
        ? { account: c.account, region: c.region }
        : undefined,
  };
}

/** Reads and validates the app's configuration from a construct's context (usually the App's). */
export function readConfig(node: { getAllContext(defaults?: object): unknown }): BridgeConfig {
  return parseConfig((node.getAllContext() ?? {}) as Record<string, unknown>);
}
