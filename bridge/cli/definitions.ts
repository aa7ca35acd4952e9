/**
 * Every command's flags, environment and example, in one place. Each command hands its `flags` to
 * node:util parseArgs (through parseCommandLine), `--help` is rendered from the same objects, and
 * the README's command table is tested against them: the three cannot drift apart.
 */

export interface FlagDefinition {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** parseArgs' own default. */
  readonly default?: string | boolean;
  /** The default when it comes from elsewhere (the configuration, the environment). */
  readonly shownDefault?: string;
  /** Placeholder of a string flag's value in the help: `URL,...`, `N`, `FILE`. */
  readonly value?: string;
  readonly description: string;
}

/**
 * The `--runtime` flag (dev, replay, lambda-endpoint), as every command that hosts the functions
 * declares it; its values are lambda-endpoint/stage-host.ts's RUNTIMES. Here, not there: `start`
 * reads these definitions and must not load the endpoint's code to do so.
 */
export const RUNTIME_FLAG = {
  type: 'string',
  value: 'inprocess|ric',
  default: 'inprocess',
  description:
    'inprocess: the handlers in this process; ric: the bundles `cdk synth` deploys, under aws-lambda-ric on Node 24 (see docs/local-lambda.md)',
} as const;

export interface EnvDefinition {
  readonly name: string;
  readonly description: string;
}

export interface CommandDefinition {
  /** `start`, or `dlq list` for a subcommand. */
  readonly name: string;
  readonly summary: string;
  /** One line for the top-level help; default: the summary. */
  readonly brief?: string;
  /** Positional arguments in the usage line: `<id>`, `<heat-stacks|job-state>`. */
  readonly positionals?: string;
  readonly flags: Readonly<Record<string, FlagDefinition>>;
  readonly env: readonly EnvDefinition[];
  readonly example: string;
  /** Exit codes and anything else worth a line. */
  readonly notes?: readonly string[];
}

// ---- shared flags ------------------------------------------------------------------------------

const CONFIG = {
  type: 'string',
  value: 'FILE',
  shownDefault: 'none',
  description: 'JSON configuration file (see the README); the environment and flags override it',
} as const;
const ETCD = {
  type: 'string',
  value: 'URL,...',
  shownDefault: 'http://127.0.0.1:2379',
  description: "every etcd member's client URL, comma-separated",
} as const;
const GROUP = {
  type: 'string',
  value: 'NAME',
  shownDefault: 'default',
  description: 'bridge group: its bridges elect one leader and share checkpoints (dev runs as "dev")',
} as const;
const INVOKE = {
  type: 'string',
  value: 'inprocess|lambda',
  shownDefault: 'inprocess',
  description: 'run the stage functions inside the bridge, or invoke them through the Lambda API',
} as const;
const LAMBDA_ENDPOINT = {
  type: 'string',
  value: 'URL',
  shownDefault: 'AWS',
  description:
    'Lambda API endpoint (LocalStack, sam local start-lambda, etcd-bridge lambda-endpoint); implies --invoke lambda',
} as const;
const JSON_FLAG = { type: 'boolean', default: false, description: 'print JSON instead of text' } as const;

/** The flags every command takes, handled by main.ts before the command's own parser runs. */
export const GLOBAL_FLAGS = {
  help: { type: 'boolean', short: 'h', description: 'show this help and exit 0' },
  verbose: { type: 'boolean', description: 'on a failure, also print its details (stack, causes)' },
} as const satisfies Record<string, FlagDefinition>;

// ---- shared environment ------------------------------------------------------------------------

const ETCD_ENV: readonly EnvDefinition[] = [
  { name: 'ETCD_ENDPOINTS', description: 'etcd client URLs, comma-separated (as --etcd)' },
  { name: 'ETCD_USERNAME, ETCD_PASSWORD', description: 'etcd authentication' },
  { name: 'ETCD_CA_PEM, ETCD_CERT_PEM, ETCD_KEY_PEM', description: 'etcd TLS, as PEM text' },
  { name: 'BRIDGE_GROUP', description: 'the group (as --group)' },
];
const LAMBDA_ENV: readonly EnvDefinition[] = [
  {
    name: 'HEAT_STACKS_FUNCTION_NAME, JOB_STATE_FUNCTION_NAME',
    description: 'function name or ARN per route (default: the stage name)',
  },
  {
    name: 'AWS_ENDPOINT_URL_LAMBDA',
    description:
      'Lambda API endpoint of --invoke lambda (unlike --lambda-endpoint, it does not select lambda)',
  },
  { name: 'INVOKE_TIMEOUT_MS', description: 'how long one invocation may take (invoke.timeoutMs)' },
  {
    name: 'AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE',
    description: 'region and credentials when invoking AWS Lambda or SQS',
  },
];
const DLQ_ENV: readonly EnvDefinition[] = [
  {
    name: 'HEAT_STACKS_DLQ_URL, JOB_STATE_DLQ_URL',
    description: 'SQS dead-letter queue per route (setting one selects the SQS sink)',
  },
];
const CONCURRENCY_ENV: EnvDefinition = {
  name: 'HEAT_STACKS_CONCURRENCY, JOB_STATE_CONCURRENCY',
  description: "batches of the route invoked at once (the route's concurrency)",
};
const LOG_ENV: EnvDefinition = { name: 'LOG_LEVEL', description: 'debug, info (default), warn or error' };
const ETCD_BIN_ENV: EnvDefinition = {
  name: 'ETCD_BIN',
  description: 'the etcd binary to run (default: etcd on PATH, installed with apt-get when root)',
};

// ---- commands ----------------------------------------------------------------------------------

export const DEV = {
  name: 'dev',
  brief: 'etcd, the local Lambda endpoint and the bridge on this machine, with the seed demo (npm start)',
  summary:
    'What `npm start` runs: etcd (data in .data/etcd), the local Lambda endpoint hosting both stage functions, and the bridge (group "dev") invoking them over HTTP; plays the seed operation and keeps running until Ctrl-C.',
  flags: {
    once: {
      type: 'boolean',
      default: false,
      description: 'play the seed and exit: 0 when (2) and (3) are identical to the seed, 1 otherwise',
    },
    'data-dir': {
      type: 'string',
      value: 'DIR',
      shownDefault: '.data/etcd',
      description: "etcd's data directory",
    },
    'etcd-port': {
      type: 'string',
      value: 'N',
      default: '2379',
      description: "etcd's client port (a busy port falls back to a free one; 0: any)",
    },
    'lambda-port': {
      type: 'string',
      value: 'N',
      default: '3001',
      description: "the Lambda endpoint's port (a busy port falls back to a free one; 0: any)",
    },
    'metrics-port': {
      type: 'string',
      value: 'N',
      default: '9464',
      description: '/healthz and /metrics port (a busy port falls back to a free one; 0: any)',
    },
    'skip-preflight': {
      type: 'boolean',
      default: false,
      description: "don't check the functions before the bridge starts",
    },
    runtime: RUNTIME_FLAG,
  },
  env: [ETCD_BIN_ENV, LOG_ENV],
  example: 'npx etcd-bridge dev --once --etcd-port 0 --lambda-port 0 --metrics-port 0',
  notes: ['exit 0 on Ctrl-C (or --once matching the seed); 1 on a failure; 2 on a bad command line'],
} as const satisfies CommandDefinition;

export const START = {
  name: 'start',
  brief: 'run the bridge: preflight, campaign for leadership, work every route',
  summary:
    'Run the bridge: check that every route can work (preflight), campaign for leadership of its group, then work every route until SIGTERM/SIGINT.',
  flags: {
    config: CONFIG,
    etcd: ETCD,
    group: GROUP,
    invoke: INVOKE,
    'lambda-endpoint': LAMBDA_ENDPOINT,
    'start-position': {
      type: 'string',
      value: 'latest|earliest|resync|REV',
      shownDefault: 'latest',
      description: 'where a route with no checkpoint starts (a revision is a decimal number)',
    },
    'metrics-port': {
      type: 'string',
      value: 'N',
      shownDefault: '9464',
      description: '/healthz and /metrics on 127.0.0.1; 0 turns them off',
    },
    'skip-preflight': {
      type: 'boolean',
      default: false,
      description:
        'skip the checks of functions (GetFunction / DryRun invoke), credentials and SQS queues, for environments that forbid those calls',
    },
  },
  env: [...ETCD_ENV, ...LAMBDA_ENV, CONCURRENCY_ENV, ...DLQ_ENV, LOG_ENV],
  example:
    'npx etcd-bridge start --etcd http://127.0.0.1:2379 --invoke lambda --lambda-endpoint http://127.0.0.1:3001',
  notes: [
    'exit 0 after SIGTERM/SIGINT (work in flight drained); 1 on a failure; 2 on a bad command line, configuration, preflight or busy port; 3 when leadership is lost',
  ],
} as const satisfies CommandDefinition;

export const STATUS = {
  name: 'status',
  brief: 'checkpoint, head, lag, in flight, dead-lettered and leader, per route',
  summary:
    'Per route of a group: checkpoint, etcd head revision, lag, records in flight, dead-lettered records, watch reconnects; which bridge leads, its lease keep-alive failovers and failed commits.',
  flags: { json: JSON_FLAG, config: CONFIG, etcd: ETCD, group: GROUP },
  env: [...ETCD_ENV, ...DLQ_ENV],
  example: 'npx etcd-bridge status --etcd http://127.0.0.1:2379 --group dev',
  notes: ['exit 0 shown; 1 etcd cannot be reached; 2 a bad command line or configuration'],
} as const satisfies CommandDefinition;

const DLQ_SHARED = { config: CONFIG, etcd: ETCD, group: GROUP } as const;
const DLQ_ROUTE = {
  type: 'string',
  value: 'R',
  shownDefault: 'every route',
  description: "only this route's records",
} as const;
const YES = {
  type: 'boolean',
  short: 'y',
  default: false,
  description: "don't ask for confirmation (required when stdin is not a terminal)",
} as const;

export const DLQ_LIST = {
  name: 'dlq list',
  summary:
    'List the dead-lettered records (etcd prefix or SQS queue): id, key@revision, attempts, time, error.',
  flags: {
    route: DLQ_ROUTE,
    limit: { type: 'string', value: 'N', default: '1000', description: 'at most N records per route' },
    json: JSON_FLAG,
    ...DLQ_SHARED,
  },
  env: [...ETCD_ENV, ...DLQ_ENV],
  example: 'npx etcd-bridge dlq list --etcd http://127.0.0.1:2379 --group dev',
} as const satisfies CommandDefinition;

export const DLQ_SHOW = {
  name: 'dlq show',
  summary: 'Show one dead-lettered record in full: its value, error, attempts and timestamps.',
  positionals: '<id>',
  flags: { json: JSON_FLAG, ...DLQ_SHARED },
  env: [...ETCD_ENV, ...DLQ_ENV],
  example: 'npx etcd-bridge dlq show heat-stacks/42 --group dev',
  notes: ['<id> is what `dlq list` prints, or its unique <route>/<revision> head'],
} as const satisfies CommandDefinition;

export const DLQ_REDRIVE = {
  name: 'dlq redrive',
  summary:
    "Run dead-lettered records through their route's function again; commit their outputs unless a newer revision of the key was applied since. One line per record with its outcome.",
  flags: {
    route: DLQ_ROUTE,
    id: { type: 'string', value: 'ID', shownDefault: 'every record', description: 'only this record' },
    invoke: INVOKE,
    'lambda-endpoint': LAMBDA_ENDPOINT,
    json: JSON_FLAG,
    ...DLQ_SHARED,
  },
  env: [...ETCD_ENV, ...LAMBDA_ENV, ...DLQ_ENV],
  example: 'npx etcd-bridge dlq redrive --route job-state --group dev',
  notes: ['exit 0 when no record failed again or was skipped, 1 otherwise'],
} as const satisfies CommandDefinition;

export const DLQ_DELETE = {
  name: 'dlq delete',
  summary: 'Drop one dead-lettered record without running it.',
  positionals: '<id>',
  flags: { yes: YES, json: JSON_FLAG, ...DLQ_SHARED },
  env: [...ETCD_ENV, ...DLQ_ENV],
  example: 'npx etcd-bridge dlq delete heat-stacks/42 --yes --group dev',
  notes: [
    'asks for confirmation on a terminal; elsewhere --yes is required',
    'an entry that is not a record is dropped by the id its listing printed on stderr',
  ],
} as const satisfies CommandDefinition;

export const DLQ_PURGE = {
  name: 'dlq purge',
  summary: 'Drop every dead-lettered record of one route.',
  flags: {
    route: {
      type: 'string',
      value: 'R',
      shownDefault: 'required',
      description: 'the route whose queue is emptied',
    },
    yes: YES,
    json: JSON_FLAG,
    ...DLQ_SHARED,
  },
  env: [...ETCD_ENV, ...DLQ_ENV],
  example: 'npx etcd-bridge dlq purge --route heat-stacks --yes --group dev',
  notes: [
    'asks for confirmation on a terminal; elsewhere --yes is required',
    'on SQS it is PurgeQueue: an approximate count, and records sent during the purge (up to 60 s) may go too',
  ],
} as const satisfies CommandDefinition;

export const DLQ_SUBCOMMANDS = {
  list: DLQ_LIST,
  show: DLQ_SHOW,
  redrive: DLQ_REDRIVE,
  delete: DLQ_DELETE,
  purge: DLQ_PURGE,
} as const;
export type DlqSubcommand = keyof typeof DLQ_SUBCOMMANDS;

export const DLQ = {
  name: 'dlq',
  brief: 'list, show, redrive, delete or purge the dead-letter queue',
  summary:
    'The dead-letter queue of a group, on the etcd sink (default) or SQS: list, show, redrive, delete, purge.',
  positionals: '<list|show|redrive|delete|purge>',
  flags: {},
  env: [...ETCD_ENV, ...DLQ_ENV],
  example: 'npx etcd-bridge dlq list --group dev',
  notes: ['`etcd-bridge dlq <subcommand> --help` for each one'],
} as const satisfies CommandDefinition;

export const REPLAY = {
  name: 'replay',
  brief: 'replay a recorded trace through the pipeline and compare its writes byte for byte',
  summary:
    "The shadow check before switching off the legacy worker: apply a recorded trace's inputs one at a time through the real pipeline, and compare every key's writes with the expected ones, byte for byte.",
  flags: {
    trace: { type: 'string', value: 'FILE', shownDefault: 'required', description: 'the trace (JSON lines)' },
    etcd: {
      ...ETCD,
      shownDefault: 'its own etcd',
      description: 'replay against this etcd instead of a private one',
    },
    invoke: {
      ...INVOKE,
      default: 'inprocess',
      description: 'run the functions in-process, or over the local Lambda endpoint',
    },
    'allow-extra': {
      type: 'string',
      value: 'N',
      default: '0',
      description: 'writes the trace lacks that still count as a match',
    },
    json: { type: 'boolean', default: false, description: 'also print a JSON summary as the last line' },
    runtime: { ...RUNTIME_FLAG, description: `${RUNTIME_FLAG.description}; ric implies --invoke lambda` },
  },
  env: [ETCD_BIN_ENV],
  example: 'npx etcd-bridge replay --trace examples/traces/seed-operation.jsonl',
  notes: ['exit 0 only when every expected write matched and extra writes <= --allow-extra'],
} as const satisfies CommandDefinition;

export const INVOKE_COMMAND = {
  name: 'invoke',
  brief: 'run a stage function in-process on one batch event',
  summary:
    'Run a stage function in-process on one batch event, like `sam local invoke`: stdout is exactly the response JSON, logs go to stderr.',
  positionals: '<heat-stacks|job-state>',
  flags: {
    event: {
      type: 'string',
      short: 'e',
      value: 'FILE',
      shownDefault: 'required',
      description: 'the batch event (JSON)',
    },
    'timeout-ms': {
      type: 'string',
      value: 'N',
      default: '30000',
      description: 'the deadline the Lambda context reports (getRemainingTimeInMillis); not enforced',
    },
  },
  env: [LOG_ENV],
  example: 'npx etcd-bridge invoke heat-stacks --event examples/events/heat-stacks.json',
  notes: ['exit 0 when the function returned (bad records are in batchItemFailures), 1 when it threw'],
} as const satisfies CommandDefinition;

export const LAMBDA_ENDPOINT_COMMAND = {
  name: 'lambda-endpoint',
  brief: 'the AWS Lambda Invoke API on this machine, hosting both stage functions',
  summary: 'The AWS Lambda Invoke API on this machine, hosting both stage functions.',
  flags: {
    port: {
      type: 'string',
      value: 'N',
      default: '3001',
      description: 'port to listen on (0: any free port)',
    },
    host: { type: 'string', value: 'HOST', default: '127.0.0.1', description: 'address to listen on' },
    'timeout-ms': {
      type: 'string',
      value: 'N',
      shownDefault: "30000 (ric: the template's Timeout)",
      description: 'timeout of one invocation',
    },
    runtime: RUNTIME_FLAG,
    concurrency: {
      type: 'string',
      value: 'N',
      default: '10',
      description:
        "ric: execution environments per function at most (a template's reserved concurrency wins)",
    },
    etcd: {
      ...ETCD,
      shownDefault: 'none',
      description: 'etcd for the dead letters of Event invocations that fail for good',
    },
    group: {
      type: 'string',
      value: 'NAME',
      default: 'default',
      description: 'the group whose dead-letter prefix they go to',
    },
  },
  env: [LOG_ENV],
  example: 'npx etcd-bridge lambda-endpoint --port 3001',
  notes: ['prints AWS_ENDPOINT_URL_LAMBDA=<url> on stdout once listening'],
} as const satisfies CommandDefinition;

/** Top-level commands in the order the help and the README list them. */
export const COMMAND_DEFINITIONS = {
  dev: DEV,
  start: START,
  status: STATUS,
  dlq: DLQ,
  replay: REPLAY,
  invoke: INVOKE_COMMAND,
  'lambda-endpoint': LAMBDA_ENDPOINT_COMMAND,
} as const satisfies Record<string, CommandDefinition>;

/** Every definition a user can ask `--help` of: commands and dlq subcommands. */
export function allDefinitions(): CommandDefinition[] {
  return [...Object.values(COMMAND_DEFINITIONS), ...Object.values(DLQ_SUBCOMMANDS)];
}
