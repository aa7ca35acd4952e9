/**
 * Route configuration (DESIGN §4): which prefix feeds which function, what it reads, and how the
 * bridge batches, retries and fails. Strict: an unknown field is an error that names it.
 */
import { z } from 'zod';
import { compileKeyPattern, KeyPatternError } from './key-pattern.js';
import { KEY_PATTERNS } from './keys.js';

export const RetryPolicySchema = z.strictObject({
  /** Attempts in all, the first included, before the record is terminal. */
  maxAttempts: z.number().int().min(1).max(100).default(6),
  /** First backoff delay; doubles each attempt, with full jitter. */
  initialDelayMs: z.number().int().min(0).max(600_000).default(100),
  maxDelayMs: z.number().int().min(0).max(3_600_000).default(10_000),
  /** A record older than this (since its first attempt) is terminal whatever its attempts. */
  maxRecordAgeMs: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3_600_000)
    .default(3_600_000),
});
export type RetryPolicy = z.infer<typeof RetryPolicySchema>;

/** etcd's first revision is 1 (a watch from 0 means "from now", and a checkpoint cannot be -1). */
const FirstRevisionSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,18}$/, 'expected a revision of 1 or more as a decimal string ("earliest" is 1)');

export const StartPositionSchema = z.union([z.enum(['latest', 'earliest', 'resync']), FirstRevisionSchema]);
export type StartPosition = z.infer<typeof StartPositionSchema>;

/** Batches of a route invoked at once, unless the route says otherwise. */
export const DEFAULT_ROUTE_CONCURRENCY = 8;

export const RouteSchema = z
  .strictObject({
    /** Names the route in checkpoints, metrics, logs and the dead-letter queue. */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and "-"'),
    /** Key pattern with named parts; its literal head is the watched prefix. */
    keyPattern: z.string().startsWith('/'),
    /** The Lambda function (name or ARN); in-process, the stage of that name. */
    function: z.string().min(1),
    /** Key templates filled from the pattern's parts, read from one snapshot per batch. */
    reads: z.array(z.string().startsWith('/')).default([]),
    eventTypes: z
      .array(z.enum(['put', 'delete']))
      .min(1)
      .default(['put']),
    batchSize: z.number().int().min(1).max(1000).default(64),
    batchWindowMs: z.number().int().min(0).max(60_000).default(2),
    /** Batches of this route invoked at once (keys in parallel; one key is never in two). */
    concurrency: z.number().int().min(1).max(256).default(DEFAULT_ROUTE_CONCURRENCY),
    retry: RetryPolicySchema.default(RetryPolicySchema.parse({})),
    onFailure: z.enum(['dead-letter', 'block']).default('dead-letter'),
    /** Where a route with no checkpoint starts. */
    startPosition: StartPositionSchema.default('latest'),
  })
  .superRefine((route, ctx) => {
    try {
      const pattern = compileKeyPattern(route.keyPattern);
      route.reads.forEach((template, i) => {
        const read = compileKeyPattern(template);
        const unknown = read.names.filter((name) => !pattern.names.includes(name));
        if (unknown.length > 0) {
          ctx.addIssue({
            code: 'custom',
            path: ['reads', i],
            message: `uses {${unknown.join('}, {')}}, which keyPattern does not name`,
          });
        }
      });
    } catch (error) {
      if (!(error instanceof KeyPatternError)) throw error;
      ctx.addIssue({ code: 'custom', path: ['keyPattern'], message: error.message });
    }
  });
export type RouteInput = z.input<typeof RouteSchema>;
export type Route = z.infer<typeof RouteSchema>;

/** The two pipeline routes: the default when no config file is given. Keys as in keys.ts. */
export const DEFAULT_ROUTES: readonly RouteInput[] = [
  {
    name: 'heat-stacks',
    keyPattern: KEY_PATTERNS.heatStack.source,
    function: 'heat-stacks',
  },
  {
    name: 'job-state',
    keyPattern: KEY_PATTERNS.jobState.source,
    function: 'job-state',
    reads: [KEY_PATTERNS.config.source, KEY_PATTERNS.state.source, KEY_PATTERNS.heatStack.source],
  },
];
