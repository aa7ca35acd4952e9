import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runReplay } from '../../bridge/replay/run.js';
import { parseTrace, type TraceLine } from '../../bridge/replay/trace.js';

const trace = (name: string): TraceLine[] =>
  parseTrace(
    readFileSync(fileURLToPath(new URL(`../../examples/traces/${name}`, import.meta.url)), 'utf8'),
    name,
  );

describe('replay through the real pipeline (own etcd, bridge, stage functions)', () => {
  it('the seed operation: 3 of 3 expected writes, nothing extra', async () => {
    const result = await runReplay({ trace: trace('seed-operation.jsonl'), invoke: 'inprocess' });
    expect(result).toMatchObject({ inputs: 3, expected: 3, matched: 3, extra: 0, mismatches: [] });
  });

  it('a rollback and a rejected status, through the local Lambda endpoint over HTTP', async () => {
    const result = await runReplay({ trace: trace('port-rollback.jsonl'), invoke: 'lambda' });
    expect(result).toMatchObject({ expected: 6, matched: 6, extra: 0, mismatches: [] });
  });

  it('reports a write that differs, with what the pipeline wrote', async () => {
    const lines = trace('seed-operation.jsonl').map((line) =>
      line.role === 'expect' && line.key.startsWith('/state/')
        ? { ...line, value: line.value!.replace('"version": 2', '"version": 3') }
        : line,
    );
    const result = await runReplay({ trace: lines, invoke: 'inprocess' });
    expect(result.matched).toBe(2);
    expect(result.mismatches).toHaveLength(1);
    expect(result.mismatches[0]?.got?.value).toContain('"version": 2, \n');
    expect(result.extra).toBe(1);
  });
});
