// V8's heap settings for the bridge process (`etcd-bridge start` and `dev`), measured in docs/deploy.md
// ("Memory: V8's heap settings"). Without them V8 sizes its heap for the machine, not for the bridge: the
// live set is ~40 MB, yet a 100k-record drain grew to 255 MB of RSS on Node 20 and 400 MB on Node 24,
// nearly all of it garbage not yet collected (Node 24's young generation is the larger).
//
// A heap size can only be set when the isolate is made (v8.setFlagsFromString afterwards does not
// resize it), so the bin re-executes itself in place with these flags: process.execve (Node
// >= 22.15 and 23.11, so the image's Node 24) keeps the pid, the stdio and the signals, which a
// wrapper process would not. Older Nodes run as started: give them NODE_OPTIONS (see the README).
// A flag already given (on the command line or in NODE_OPTIONS) wins over the one here.

/** Flags by name, with the bridge's values. */
export const BRIDGE_V8_FLAGS = Object.freeze({
  // Each of the two semi-spaces of the young generation, in MB. Node 24's default grows them to
  // 32 MB (a 96 MB young generation of mostly dead objects); a small one is scavenged more often,
  // each scavenge cheap, and keeps the RSS down.
  '--max-semi-space-size': '2',
  // The old generation's limit, in MB. Unlimited, V8 lets it grow towards the machine's memory
  // before a full collection; the live set is ~40 MB, 2,000 records in flight included.
  '--max-old-space-size': '128',
});

/**
 * The environment the re-executed bridge gets, unless already set. MALLOC_ARENA_MAX: glibc gives each
 * thread that allocates (V8's GC helpers, libuv's pool, gRPC) an arena of its own, and memory freed in
 * one stays mapped there; two arenas keep that fragmentation out of the RSS (read when the process
 * starts, so it too needs the re-exec).
 */
export const BRIDGE_ENV = Object.freeze({ MALLOC_ARENA_MAX: '2' });

/** The environment to re-execute with: `env` and whatever of BRIDGE_ENV it lacks. */
export function bridgeEnv(env) {
  const out = { ...env };
  for (const [name, value] of Object.entries(BRIDGE_ENV)) out[name] ??= value;
  return out;
}

/**
 * The variables of BRIDGE_ENV that `env` lacks. The bin re-executes for them too: a user who gave
 * every flag in NODE_OPTIONS still gets the arenas (the image sets both itself).
 */
export function missingBridgeEnv(env) {
  return Object.keys(BRIDGE_ENV).filter((name) => env[name] === undefined);
}

/**
 * Buffer.poolSize for the bridge process: Node 20's 8 KiB. Node raised the default to 64 KiB
 * (nodejs/node#63597, in Node 24 too). Every Buffer under half the pool size is a slice of the
 * current slab, and a slab is freed only when the last of its slices is: the watch's copy of each
 * record value (~2 KB) is such a slice and waits in a route's queue for as long as its key's earlier
 * records take, so one record still queued keeps 64 KiB alive instead of 8. On Node 24 that raised
 * the drain's ArrayBuffer high-water mark from 17 MB to 24 MB and glibc's main arena, which keeps
 * what it once held, with it (docs/performance.md, "Node 24's RSS").
 */
export const BRIDGE_BUFFER_POOL_SIZE = 8 * 1024;

/** Lowers `buffer.poolSize` to BRIDGE_BUFFER_POOL_SIZE (never raises it); slabs cut from then on use it. */
export function applyBufferPoolSize(buffer = Buffer) {
  if (buffer.poolSize > BRIDGE_BUFFER_POOL_SIZE) buffer.poolSize = BRIDGE_BUFFER_POOL_SIZE;
}

/** Commands that run a bridge for long enough for its heap to matter. */
export const LONG_RUNNING_COMMANDS = Object.freeze(['start', 'dev']);

/**
 * The flags to add: those of BRIDGE_V8_FLAGS not already in `execArgv` or `nodeOptions` (a flag
 * with `-` or `_`, with or without a value, counts as given).
 */
export function missingV8Flags(execArgv, nodeOptions = '') {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map((arg) =>
    arg.split('=')[0].replaceAll('_', '-'),
  );
  return Object.entries(BRIDGE_V8_FLAGS)
    .filter(([name]) => !given.includes(name))
    .map(([name, value]) => `${name}=${value}`);
}

/** The flags as a NODE_OPTIONS value, for a Node that cannot re-execute itself (tests, Node 20). */
export function bridgeNodeOptions() {
  return Object.entries(BRIDGE_V8_FLAGS)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');
}
