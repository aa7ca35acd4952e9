/**
 * `npx tsx bench/hand-off.ts [runs] [members]`: the latency phase (5,000 events at 500/s over 1,000
 * keys, in-process) on one etcd member or a 3-member loopback cluster (members 3), with the hand-off
 * on and off, alternating ABBA so that neither setting always runs on a warmer process, after one
 * discarded run. One JSON line per run: p50/p99 from put to state, the share of each stage (put →
 * job_state, job_state → state), hand-offs taken and declined by reason.
 * A tool beside the bench for docs/performance.md ("Hand-off"); not part of `npm test`.
 */
import { loadavg } from 'node:os';
import { measureLatency, startPipeline, warmUp } from './pipeline.js';
import { summarizeLatencies } from './stats.js';

async function once(handOff: boolean): Promise<Record<string, unknown>> {
  const pipeline = await startPipeline('bridge-inprocess', [], { handOff, members });
  try {
    await warmUp(pipeline, 1_000, 100);
    const loadBefore = loadavg()[0] ?? 0;
    const result = await measureLatency(pipeline, { events: 5_000, rate: 500, keys: 1_000 });
    const all = summarizeLatencies(result.samplesMs);
    const first = summarizeLatencies(result.firstStageMs);
    const second = summarizeLatencies(result.samplesMs.map((ms, i) => ms - (result.firstStageMs[i] ?? 0)));
    const jobState = pipeline.bridge?.route('job-state');
    return {
      handOff,
      members,
      p50_ms: all.p50,
      p99_ms: all.p99,
      heat_stacks_p50_ms: first.p50,
      heat_stacks_p99_ms: first.p99,
      job_state_p50_ms: second.p50,
      job_state_p99_ms: second.p99,
      taken: jobState?.stats.handOffsTaken,
      declined: jobState ? Object.fromEntries(jobState.handOffDeclines) : undefined,
      snapshots: Object.fromEntries(
        ['heat-stacks', 'job-state'].map((name) => {
          const stats = pipeline.bridge?.route(name)?.stats;
          return [
            name,
            { read: stats?.snapshotsRead, commit: stats?.snapshotsFromCommit, none: stats?.snapshotsSkipped },
          ];
        }),
      ),
      load1: [loadBefore, loadavg()[0] ?? 0].map((l) => Number(l.toFixed(2))),
    };
  } finally {
    await pipeline.close();
  }
}

const runs = Number(process.argv[2] ?? '3');
if (!Number.isSafeInteger(runs) || runs < 1) {
  process.stderr.write(`bench/hand-off.ts: runs must be a whole number >= 1, got ${process.argv[2]}\n`);
  process.exit(2);
}
const members = Number(process.argv[3] ?? '1');
if (members !== 1 && members !== 3) {
  process.stderr.write(`bench/hand-off.ts: members must be 1 or 3, got ${process.argv[3]}\n`);
  process.exit(2);
}
await once(false); // discarded: the process's first run loads modules and warms the JIT
const order: boolean[] = [];
for (let i = 0; i < runs; i++) order.push(...(i % 2 === 0 ? [true, false] : [false, true]));
for (const handOff of order) process.stdout.write(`${JSON.stringify(await once(handOff))}\n`);
process.exit(0);
