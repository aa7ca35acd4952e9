import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dumpsCompact, dumpsIndented } from '../../../../shared/json/encode.js';
import { parseJson } from '../../../../shared/json/parse.js';

/** Made by test/fixtures/json-golden/generate.py with CPython (see that script). */
interface GoldenCase {
  input: string;
  indented: string;
  compact: string;
}

const cases = JSON.parse(
  readFileSync(new URL('../../../fixtures/json-golden/cases.json', import.meta.url), 'utf8'),
) as GoldenCase[];

describe('golden cases generated with CPython', () => {
  it('has the fixture', () => {
    expect(cases.length).toBeGreaterThanOrEqual(80);
  });

  it.each(cases.map((c) => [JSON.stringify(c.input), c] as const))('%s', (_name, c) => {
    const value = parseJson(c.input);
    expect(dumpsIndented(value)).toBe(c.indented);
    expect(dumpsCompact(value)).toBe(c.compact);
  });
});
