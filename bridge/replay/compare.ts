/**
 * Compare the pipeline's writes with a trace's expected ones, key by key: the expected writes of a
 * key must appear among the pipeline's writes of that key, in order, byte for byte. Pipeline writes
 * the trace does not expect count as extra.
 */

export interface Write {
  readonly key: string;
  readonly action: 'put' | 'delete';
  readonly value: string | null;
}

export interface Mismatch {
  readonly key: string;
  readonly expected: Write;
  /** The pipeline's write at that place for the key, or null when it made none. */
  readonly got: Write | null;
}

export interface ReplayComparison {
  readonly expected: number;
  readonly matched: number;
  readonly extra: number;
  readonly mismatches: Mismatch[];
  readonly extras: Write[];
}

const same = (a: Write, b: Write) => a.action === b.action && (a.action === 'delete' || a.value === b.value);

export function compareWrites(expected: readonly Write[], actual: readonly Write[]): ReplayComparison {
  const byKey = (writes: readonly Write[]) => {
    const map = new Map<string, Write[]>();
    for (const w of writes) {
      const list = map.get(w.key) ?? [];
      list.push(w);
      map.set(w.key, list);
    }
    return map;
  };
  const expectedByKey = byKey(expected);
  const actualByKey = byKey(actual);
  let matched = 0;
  const mismatches: Mismatch[] = [];
  const extras: Write[] = [];

  for (const key of new Set([...expectedByKey.keys(), ...actualByKey.keys()])) {
    const want = expectedByKey.get(key) ?? [];
    const got = actualByKey.get(key) ?? [];
    // Greedy subsequence: each expected write is found at or after the previous match.
    let g = 0;
    for (const w of want) {
      let found = -1;
      for (let j = g; j < got.length; j++) {
        if (same(w, got[j]!)) {
          found = j;
          break;
        }
      }
      if (found === -1) {
        mismatches.push({ key, expected: w, got: got[g] ?? null });
        continue;
      }
      extras.push(...got.slice(g, found));
      matched++;
      g = found + 1;
    }
    extras.push(...got.slice(g));
  }
  return { expected: expected.length, matched, extra: extras.length, mismatches, extras };
}
