/**
 * The seed demo: write the config record (version 2), the job runner's `{}` placeholder and heat
 * stack record (1); let the pipeline settle; read back (1), (2) and (3) as stored and compare each
 * with the seed document's bytes.
 */
import type { Bridge } from '../bridge.js';
import { headRevision } from '../etcd/head.js';
import { KeyspaceRecorder } from '../replay/recorder.js';
import { waitUntilSettled } from '../replay/settle.js';
import { loadSeed, type SeedRecord } from './seed.js';

export interface ShownRecord {
  readonly label: string;
  readonly key: string;
  readonly expected: string;
  readonly stored: string | null;
  readonly identical: boolean;
}

export async function playSeed(bridge: Bridge): Promise<ShownRecord[]> {
  const seed = loadSeed();
  const client = bridge.client;
  const recorder = await KeyspaceRecorder.start(client, (await headRevision(client)) + 1n);
  try {
    await client.put(seed.config.key).value(seed.config.value);
    await client.put(seed.jobState.key).value('{}');
    await client.put(seed.heatStack.key).value(seed.heatStack.value);
    await waitUntilSettled(bridge, recorder);
    // Record (2) lives only until stage job-state has written (3): take it from etcd's history.
    const jobStateWrites = recorder.writes.filter((w) => w.key === seed.jobState.key && w.action === 'put');
    const jobState = jobStateWrites[jobStateWrites.length - 1]?.value ?? null;
    const show = (label: string, record: SeedRecord, stored: string | null): ShownRecord => ({
      label,
      key: record.key,
      expected: record.value,
      stored,
      identical: stored === record.value,
    });
    return [
      show('(1) heat stack', seed.heatStack, await client.get(seed.heatStack.key).string()),
      show('(2) job_state', seed.jobState, jobState),
      show('(3) state', seed.state, await client.get(seed.state.key).string()),
    ];
  } finally {
    recorder.close();
  }
}

/** The record as stored, then a verdict: identical, or the first line that differs. */
export function describeRecord(record: ShownRecord): string {
  const head = `${record.label}  ${record.key}`;
  if (record.stored === null) return `${head}\n  MISSING: nothing stored\n`;
  const verdict = record.identical
    ? 'identical to the seed, byte for byte'
    : `DIFFERS from the seed: ${firstDifference(record.expected, record.stored)}`;
  return `${head}\n${record.stored}\n  -> ${verdict}\n`;
}

function firstDifference(expected: string, got: string): string {
  const a = expected.split('\n');
  const b = got.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i])
      return `line ${i + 1}: expected ${JSON.stringify(a[i] ?? null)}, got ${JSON.stringify(b[i] ?? null)}`;
  }
  return 'same lines, different bytes';
}
