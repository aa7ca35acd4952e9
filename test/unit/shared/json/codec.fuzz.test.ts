/**
 * Hostile input for the JSON codec (parse, encode, UTF-8 decode): arbitrary bytes, JSON texts,
 * JSON texts with one edit. Whatever comes in, the codec either returns a value that it can write
 * back (and that reads back as itself), or throws one of its own errors with a readable message;
 * never anything else (no TypeError, no RangeError from a stack overflow, no half result).
 * Values at etcd's 1.5 MiB request limit, and nesting 10k deep, in particular.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeUtf8,
  dumpsCompact,
  dumpsIndented,
  JsonLimitError,
  JsonSyntaxError,
  PyObject,
  type PyValue,
  parseJson,
  RecordValidationError,
} from '../../../../shared/index.js';
import { bytes, bytesText, jsonText, mutatedJsonText, runs } from '../../../helpers/arbitraries.js';

/** etcd's default --max-request-bytes: the largest value a put can carry (less the key and framing). */
const ETCD_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

type Outcome = { ok: true; value: PyValue } | { ok: false; error: JsonSyntaxError | JsonLimitError };

/** Parse `text`; anything thrown that is not the codec's own error fails the property. */
function parse(text: string): Outcome {
  try {
    return { ok: true, value: parseJson(text) };
  } catch (error) {
    if (error instanceof JsonSyntaxError) {
      if (error.position < 0 || error.position > text.length)
        throw new Error(`position ${error.position} outside the text (${text.length})`);
      if (!/^invalid JSON: .+ at line \d+ column \d+ \(char \d+\)$/s.test(error.message))
        throw new Error(`unreadable message: ${error.message}`);
      if (error.line < 1 || error.column < 1) throw new Error(`line ${error.line} column ${error.column}`);
      return { ok: false, error };
    }
    if (error instanceof JsonLimitError) return { ok: false, error };
    throw error;
  }
}

/** A parsed value is written back in both layouts, ASCII only, and reads back as the same value. */
function checkRoundTrip(value: PyValue): void {
  const indented = dumpsIndented(value);
  const compact = dumpsCompact(value);
  if (!/^[\x20-\x7e\n]*$/.test(indented)) throw new Error(`non-ASCII or control output: ${indented}`);
  if (!/^[\x20-\x7e]*$/.test(compact)) throw new Error(`non-ASCII or control output: ${compact}`);
  const again = parseJson(indented);
  if (dumpsIndented(again) !== indented) throw new Error(`indented output does not read back: ${indented}`);
  if (dumpsCompact(again) !== compact) throw new Error(`compact output does not read back: ${compact}`);
  if (dumpsCompact(parseJson(compact)) !== compact) throw new Error(`compact does not read back: ${compact}`);
}

function property(text: string): void {
  const outcome = parse(text);
  if (outcome.ok) checkRoundTrip(outcome.value);
}

describe('codec fuzz', () => {
  it('arbitrary bytes, decoded leniently: a value that round-trips, or a JsonSyntaxError', () => {
    fc.assert(fc.property(bytesText, property), { numRuns: runs(6_000) });
  });

  it('arbitrary bytes, decoded strictly: text, or a RecordValidationError naming the key', () => {
    fc.assert(
      fc.property(bytes, (raw) => {
        let text: string;
        try {
          text = decodeUtf8(raw, '/esi-worker/heat_stacks/k');
        } catch (error) {
          if (!(error instanceof RecordValidationError)) throw error;
          expect(error.message).toBe('/esi-worker/heat_stacks/k: value: is not valid UTF-8');
          return;
        }
        expect(Buffer.from(text, 'utf8').equals(Buffer.from(raw))).toBe(true);
        property(text);
      }),
      { numRuns: runs(3_000) },
    );
  });

  it('arbitrary JSON texts: always accepted, written back, read back', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        const outcome = parse(text);
        if (!outcome.ok) throw new Error(`valid JSON rejected: ${outcome.error.message}`);
        checkRoundTrip(outcome.value);
      }),
      { numRuns: runs(5_000) },
    );
  });

  it('JSON texts with one edit: a value that round-trips, or a JsonSyntaxError', () => {
    fc.assert(fc.property(mutatedJsonText, property), { numRuns: runs(5_000) });
  });

  it('UTF-16 oddities: lone surrogates raw and escaped, BOM, NUL', () => {
    const pieces = fc.constantFrom(
      '\ud800',
      '\udfff',
      '\\ud800',
      '\\udfff',
      '\ufeff',
      '\u0000',
      '\\u0000',
      'a',
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 8 }), fc.boolean(), (parts, quoted) => {
        property(quoted ? `"${parts.join('')}"` : parts.join(''));
      }),
      { numRuns: runs(1_000) },
    );
  });
});

describe('codec limits', () => {
  it('rejects nesting 10k deep with a JsonLimitError, not a stack overflow', () => {
    for (const text of [
      `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
      `${'{"a": '.repeat(10_000)}1${'}'.repeat(10_000)}`,
      '['.repeat(10_000),
      `{"output": ${'['.repeat(10_000)}`,
    ]) {
      const outcome = parse(text);
      expect(outcome.ok).toBe(false);
      if (outcome.ok) continue;
      expect(outcome.error).toBeInstanceOf(JsonLimitError);
      expect(outcome.error.message).toMatch(/^JSON nested deeper than 1000 levels \(char \d+\)$/);
    }
  });

  it('parses 10k deep when allowed to (iteratively), and refuses to write it with a JsonLimitError', () => {
    const deep = parseJson(`${'['.repeat(10_000)}${']'.repeat(10_000)}`, { maxDepth: 20_000 });
    expect(() => dumpsIndented(deep)).toThrow(JsonLimitError);
    expect(() => dumpsCompact(deep)).toThrow(/nested deeper than 1000 levels/);
    // A cycle, which no parse can produce, is refused the same way.
    const cyclic = new PyObject();
    cyclic.entries.set('self', cyclic);
    expect(() => dumpsCompact(cyclic)).toThrow(JsonLimitError);
  });

  it('accepts nesting right at the limit and writes it back', () => {
    const text = `${'['.repeat(1_000)}${']'.repeat(1_000)}`;
    const value = parseJson(text);
    expect(dumpsCompact(value)).toBe(text);
    expect(() => parseJson(`[${text}]`)).toThrow(JsonLimitError);
  });

  it('reads and writes values at etcd 1.5 MiB limit', () => {
    // A string of every kind of character, and a long list of numbers, each within 4 KiB of the limit.
    const unit = 'a"\\\n\u00e9\u4e2d\ud83d\ude00/\u0001';
    const unitBytes = Buffer.byteLength(JSON.stringify(unit), 'utf8') - 2;
    const bigString = JSON.stringify(unit.repeat(Math.floor((ETCD_MAX_REQUEST_BYTES - 2048) / unitBytes)));
    const numbers: string[] = [];
    for (let i = 0, size = 2; size < ETCD_MAX_REQUEST_BYTES - 2048; i++) {
      const text = i % 3 === 0 ? `${i}.5e-3` : i % 3 === 1 ? String(-i) : `${i}${'9'.repeat(30)}`;
      numbers.push(text);
      size += text.length + 2;
    }
    const bigList = `[${numbers.join(', ')}]`;
    for (const text of [bigString, bigList]) {
      const size = Buffer.byteLength(text, 'utf8');
      expect(size).toBeGreaterThan(ETCD_MAX_REQUEST_BYTES - 4096);
      expect(size).toBeLessThan(ETCD_MAX_REQUEST_BYTES);
      const outcome = parse(text);
      expect(outcome.ok).toBe(true);
      if (outcome.ok) checkRoundTrip(outcome.value);
    }
  });

  it('refuses a text past maxLength with a JsonLimitError before scanning it', () => {
    expect(() => parseJson('1'.repeat(101), { maxLength: 100 })).toThrow(
      /^JSON text of 101 characters is longer than the limit of 100$/,
    );
  });
});
