/**
 * A trace whose input deletes a key that does not exist in the replay's etcd (a trace recorded over a
 * window: the key was written before it began). etcd makes no revision for such a delete, so the
 * header's revision is the previous write's — the pipeline's own commit — and the replay must not
 * take that write for an input.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runReplay } from '../../bridge/replay/run.js';
import { parseTrace, type TraceLine } from '../../bridge/replay/trace.js';

const seed = (): TraceLine[] =>
  parseTrace(
    readFileSync(
      fileURLToPath(new URL('../../examples/traces/seed-operation.jsonl', import.meta.url)),
      'utf8',
    ),
  );

describe('replay: an input delete of a key the replay never had', () => {
  it('still matches every expected write of the inputs before it', async () => {
    const lines = seed();
    const trace: TraceLine[] = [
      ...lines,
      {
        seq: lines.length,
        role: 'input',
        action: 'delete',
        key: '/esi-worker/heat_stacks/v2.0/ports/deleted-before-the-trace',
        value: null,
      },
    ];
    const result = await runReplay({ trace, invoke: 'inprocess' });
    expect(result.mismatches).toEqual([]);
    expect(result).toMatchObject({ inputs: 4, expected: 3, matched: 3, extra: 0 });
  });
});
