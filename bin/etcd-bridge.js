#!/usr/bin/env node
// The CLI entry point. The TypeScript sources are compiled to dist/ by `npm ci` (the `prepare` script).
import {
  applyBufferPoolSize,
  bridgeEnv,
  LONG_RUNNING_COMMANDS,
  missingBridgeEnv,
  missingV8Flags,
} from './v8-flags.js';

// A bridge runs with its own heap settings (bin/v8-flags.js): re-executed in place with them where
// Node can (process.execve: same pid, stdio and signals), before anything else is loaded.
// The command as main reads it: --verbose may come before it (bridge/cli/main.ts takes it from anywhere).
const command = process.argv.slice(2).find((arg) => arg !== '--verbose');
if (LONG_RUNNING_COMMANDS.includes(command) && typeof process.execve === 'function') {
  const missing = missingV8Flags(process.execArgv, process.env.NODE_OPTIONS);
  if (missing.length > 0 || missingBridgeEnv(process.env).length > 0) {
    process.execve(
      process.execPath,
      [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)],
      bridgeEnv(process.env),
    );
  }
}
// Before the bridge allocates: small Buffers are cut from slabs of this size (bin/v8-flags.js).
if (LONG_RUNNING_COMMANDS.includes(command)) applyBufferPoolSize();

// The AWS SDK warns on every run that its releases after January 2027 need Node 22; the versions
// locked here run on Node 20. Shown once in the README instead of on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { main } = await import('../dist/bridge/cli/main.js');
// Exit with the command's code even if a library still holds a timer or a channel open (a failed
// start must not linger). Writes to stdout and stderr are synchronous on Linux pipes and files.
process.exit(await main(process.argv.slice(2)));
