/**
 * A micro-benchmark, not a phase: `KeyPattern.build` (shared/key-pattern.ts) against the regex
 * replace with a callback it replaced, on a job_state key of three parts, a million calls each after
 * a warm-up, the caller's parts object built in the loop as the transforms build theirs.
 *
 *   npx tsx bench/key-pattern.ts      (and with Node 24 first on PATH)
 */
import { compileKeyPattern } from '../shared/index.js';
import type { KeyParts } from '../shared/key-pattern.js';

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const pattern = compileKeyPattern('/esi-worker/job_state/{api}/{collection}/{id}');
const byReplace = (parts: KeyParts) =>
  pattern.source.replace(PLACEHOLDER, (_whole, name: string) => parts[name]!);
const byPieces = (parts: KeyParts) => pattern.build(parts);

function nsPerCall(build: (parts: KeyParts) => string, calls: number): number {
  let length = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) length += build({ api: 'v2.0', collection: 'ports', id: `p-${i}` }).length;
  const ns = Number(process.hrtime.bigint() - started) / calls;
  if (length === 0) throw new Error('nothing built');
  return ns;
}

for (const [label, build] of [
  ['regex replace', byReplace],
  ['KeyPattern.build', byPieces],
] as const) {
  nsPerCall(build, 200_000);
  console.log(
    `${label.padEnd(18)} ${nsPerCall(build, 1_000_000).toFixed(0)} ns a call (Node ${process.version})`,
  );
}
