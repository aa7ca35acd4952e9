/**
 * The bench's entry: `npm run bench -- [flags]` (= `tsx bench/main.ts`). A tool beside the product,
 * like the soak in test/soak/: it is not compiled into dist/, not copied into the image and not an
 * `etcd-bridge` command. Phase 9 (backlog) runs the compiled bridge (bin/etcd-bridge.js) as a child, so the
 * npm script builds first.
 */
import { BENCH_USAGE, BenchUsageError, benchCommand } from './command.js';

async function run(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`usage: ${BENCH_USAGE}\n(docs/performance.md explains each flag and phase)\n`);
    return 0;
  }
  try {
    return await benchCommand(args);
  } catch (error) {
    if (error instanceof BenchUsageError) {
      process.stderr.write(`${error.message}\nusage: ${BENCH_USAGE}\n`);
      return 2;
    }
    throw error;
  }
}

process.exit(await run());
