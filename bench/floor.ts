/**
 * `npx tsx bench/floor.ts [rounds] [kinds]`: the latency phase (5,000 events at 500/s over 1,000
 * keys) for several pipelines in turn, each on a fresh etcd, rotating the order every round so that
 * none always runs first. By default four: the floor client (bench/ideal/floor.ts: the two output
 * writes, nothing else), the fused floor (both outputs in one write: the floor of a design that
 * commits the two stages together), the ideal client (today's design's etcd work) and this bridge
 * in-process. `kinds` is a comma-separated subset, e.g. `floor,bridge-inprocess`. One JSON line per run:
 * p50/p95/p99 from put to state, and the share of stage heat-stacks (put → job_state). A tool beside
 * the bench for docs/performance.md ("The floor"); not part of `npm test`.
 */
import { loadavg } from 'node:os';
import { measureLatency, type PipelineKind, startPipeline, warmUp } from './pipeline.js';
import { summarizeLatencies } from './stats.js';

async function once(kind: PipelineKind): Promise<Record<string, unknown>> {
  const pipeline = await startPipeline(kind);
  try {
    await warmUp(pipeline, 1_000, 100);
    const loadBefore = loadavg()[0] ?? 0;
    const result = await measureLatency(pipeline, { events: 5_000, rate: 500, keys: 1_000 });
    const all = summarizeLatencies(result.samplesMs);
    const first = summarizeLatencies(result.firstStageMs);
    const round = (ms: number) => Number(ms.toFixed(1));
    return {
      kind,
      p50_ms: round(all.p50),
      p95_ms: round(all.p95),
      p99_ms: round(all.p99),
      heat_stacks_p50_ms: round(first.p50),
      heat_stacks_p99_ms: round(first.p99),
      cpu: result.cpu
        ? { thread: round(result.cpu.bridgeThread * 100) / 100, etcd: round(result.cpu.etcd * 100) / 100 }
        : undefined,
      fsyncs: result.fsyncs,
      load1: [loadBefore, loadavg()[0] ?? 0].map((l) => Number(l.toFixed(2))),
    };
  } finally {
    await pipeline.close();
  }
}

const rounds = Number(process.argv[2] ?? '2');
if (!Number.isSafeInteger(rounds) || rounds < 1) {
  process.stderr.write(`bench/floor.ts: rounds must be a whole number >= 1, got ${process.argv[2]}\n`);
  process.exit(2);
}
const KINDS: readonly PipelineKind[] = ['floor', 'floor-fused', 'ideal', 'bridge-inprocess'];
const kinds = (process.argv[3] ?? KINDS.join(',')).split(',') as PipelineKind[];
const unknown = kinds.filter((kind) => !KINDS.includes(kind));
if (unknown.length > 0) {
  process.stderr.write(
    `bench/floor.ts: kinds must be among ${KINDS.join(', ')}, got ${unknown.join(', ')}\n`,
  );
  process.exit(2);
}
await once('floor'); // discarded: the process's first run loads modules and warms the JIT
for (let r = 0; r < rounds; r++)
  for (let i = 0; i < kinds.length; i++)
    process.stdout.write(`${JSON.stringify(await once(kinds[(i + r) % kinds.length]!))}\n`);
process.exit(0);
