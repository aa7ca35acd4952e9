import { describe, expect, it } from 'vitest';
import { JsonLimitError, JsonSyntaxError } from '../../../../shared/errors.js';
import { dumpsCompact } from '../../../../shared/json/encode.js';
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_LENGTH, parseJson } from '../../../../shared/json/parse.js';
import { PyNumber, PyObject, type PyValue } from '../../../../shared/json/value.js';

function syntaxError(text: string): JsonSyntaxError {
  try {
    parseJson(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(text)}`);
}

describe('parseJson: the value model', () => {
  it('keeps object keys in first-appearance order, integer-like keys included', () => {
    const value = parseJson('{"a": 1, "10": 2, "2": 3, "-1": 4}') as PyObject;
    expect(value).toBeInstanceOf(PyObject);
    expect([...value.entries.keys()]).toEqual(['a', '10', '2', '-1']);
  });

  it('gives a duplicate key its first position and its last value, as a dict does', () => {
    const value = parseJson('{"a": 1, "b": 2, "a": 3, "\\u0062": 4}') as PyObject;
    expect([...value.entries.keys()]).toEqual(['a', 'b']);
    expect(dumpsCompact(value)).toBe('{"a": 3, "b": 4}');
  });

  it('keeps integers exactly, with any number of digits; -0 is 0', () => {
    const big = '1234567890123456789012345678901234567890';
    expect(parseJson(big)).toEqual(new PyNumber(big, false));
    expect(parseJson(`-${big}`)).toEqual(new PyNumber(`-${big}`, false));
    expect(parseJson('-0')).toEqual(new PyNumber('0', false));
    expect(parseJson('9007199254740993')).toEqual(new PyNumber('9007199254740993', false));
  });

  it('reads numbers with a fraction or an exponent as floats printed by CPython', () => {
    const cases: [string, string][] = [
      ['1.0', '1.0'],
      ['1E+2', '100.0'],
      ['1e2', '100.0'],
      ['0.00001', '1e-05'],
      ['1e16', '1e+16'],
      ['-0.0', '-0.0'],
      ['-0e5', '-0.0'],
      ['0.1', '0.1'],
      ['1e400', 'Infinity'],
      ['-1e400', '-Infinity'],
      ['1e-400', '0.0'],
      ['5e-324', '5e-324'],
      ['12345678901234567890.5', '1.2345678901234567e+19'],
    ];
    for (const [text, repr] of cases) expect(parseJson(text), text).toEqual(new PyNumber(repr, true));
  });

  it("accepts CPython's NaN, Infinity and -Infinity literals", () => {
    expect(parseJson('[NaN, Infinity, -Infinity]')).toEqual([
      new PyNumber('NaN', true),
      new PyNumber('Infinity', true),
      new PyNumber('-Infinity', true),
    ]);
  });

  it('decodes every escape, lone surrogates and surrogate pairs included', () => {
    expect(parseJson('"\\"\\\\\\/\\b\\f\\n\\r\\t"')).toBe('"\\/\b\f\n\r\t');
    expect(parseJson('"\\u00e9\\u00C9"')).toBe('éÉ');
    expect(parseJson('"\\ud83d\\ude00"')).toBe('😀');
    expect(parseJson('"\\ud800"')).toBe('\ud800');
    expect(parseJson('"x\\udc00y"')).toBe('x\udc00y');
    expect(parseJson('"\\ud800\\u0041"')).toBe('\ud800A');
    expect(parseJson('"raw é 😀 \u007f"')).toBe('raw é 😀 \u007f');
    expect(parseJson('"a\\nb\\u0000c"')).toBe('a\nb\u0000c');
  });

  it('allows only space, tab, LF and CR as whitespace around values', () => {
    const expected: PyValue = [new PyNumber('1', false), new PyObject([['a', null]])];
    expect(parseJson(' \t\r\n[ 1 ,\n\t{ "a" : null } ]\r\n ')).toEqual(expected);
    expect(() => parseJson('\u00a0[]')).toThrow(JsonSyntaxError);
    expect(() => parseJson('[]\f')).toThrow(JsonSyntaxError);
  });
});

// [input, reason, position, line, column]: CPython 3.11's JSONDecodeError (msg without a trailing
// " at", pos, lineno, colno) for each input, taken from json.loads.
const ERRORS: [string, string, number, number, number][] = [
  ['', 'Expecting value', 0, 1, 1],
  ['   ', 'Expecting value', 3, 1, 4],
  ['[1,]', 'Expecting value', 3, 1, 4],
  ['[1, ]', 'Expecting value', 4, 1, 5],
  ['{"a": 1,}', 'Expecting property name enclosed in double quotes', 8, 1, 9],
  ['{"a": 1, }', 'Expecting property name enclosed in double quotes', 9, 1, 10],
  ["{'a': 1}", 'Expecting property name enclosed in double quotes', 1, 1, 2],
  ["['a']", 'Expecting value', 1, 1, 2],
  ['01', 'Extra data', 1, 1, 2],
  ['-01', 'Extra data', 2, 1, 3],
  ['00', 'Extra data', 1, 1, 2],
  ['.5', 'Expecting value', 0, 1, 1],
  ['1.', 'Extra data', 1, 1, 2],
  ['1.e5', 'Extra data', 1, 1, 2],
  ['1e', 'Extra data', 1, 1, 2],
  ['1e+', 'Extra data', 1, 1, 2],
  ['[1e]', "Expecting ',' delimiter", 2, 1, 3],
  ['-', 'Expecting value', 0, 1, 1],
  ['-a', 'Expecting value', 0, 1, 1],
  ['+1', 'Expecting value', 0, 1, 1],
  ['--1', 'Expecting value', 0, 1, 1],
  ['"abc', 'Unterminated string starting', 0, 1, 1],
  ['["abc', 'Unterminated string starting', 1, 1, 2],
  ['"abc\\', 'Unterminated string starting', 0, 1, 1],
  ['"a\nb"', 'Invalid control character', 2, 1, 3],
  ['"a\tb"', 'Invalid control character', 2, 1, 3],
  ['"\u0000"', 'Invalid control character', 1, 1, 2],
  ['[1] x', 'Extra data', 4, 1, 5],
  ['{} {}', 'Extra data', 3, 1, 4],
  ['"\\x"', 'Invalid \\escape', 1, 1, 2],
  ['"\\a"', 'Invalid \\escape', 1, 1, 2],
  ['"\\u12"', 'Invalid \\uXXXX escape', 2, 1, 3],
  ['"\\u12"]', 'Invalid \\uXXXX escape', 2, 1, 3],
  ['"\\u12G4"', 'Invalid \\uXXXX escape', 2, 1, 3],
  ['"\\ud800\\uZZZZ"', 'Invalid \\uXXXX escape', 8, 1, 9],
  ['"\\ud800\\u00"', 'Invalid \\uXXXX escape', 8, 1, 9],
  ['[1 2]', "Expecting ',' delimiter", 3, 1, 4],
  ['{"a" 1}', "Expecting ':' delimiter", 5, 1, 6],
  ['{"a": 1 "b": 2}', "Expecting ',' delimiter", 8, 1, 9],
  ['{"a"}', "Expecting ':' delimiter", 4, 1, 5],
  ['{1: 2}', 'Expecting property name enclosed in double quotes', 1, 1, 2],
  ['{', 'Expecting property name enclosed in double quotes', 1, 1, 2],
  ['[', 'Expecting value', 1, 1, 2],
  ['{"a":', 'Expecting value', 5, 1, 6],
  ['[1,', 'Expecting value', 3, 1, 4],
  ['nul', 'Expecting value', 0, 1, 1],
  ['tru', 'Expecting value', 0, 1, 1],
  ['True', 'Expecting value', 0, 1, 1],
  ['None', 'Expecting value', 0, 1, 1],
  ['nan', 'Expecting value', 0, 1, 1],
  ['inf', 'Expecting value', 0, 1, 1],
  ['-Inf', 'Expecting value', 0, 1, 1],
  ['Infinit', 'Expecting value', 0, 1, 1],
  ['[1, 2', "Expecting ',' delimiter", 5, 1, 6],
  ['\ufeff[]', 'Unexpected UTF-8 BOM (decode using utf-8-sig)', 0, 1, 1],
  ['\n\n  [1,\n  2,\n ?]', 'Expecting value', 14, 5, 2],
  ['[1]\n\n]', 'Extra data', 5, 3, 1],
  ['\u00a0[]', 'Expecting value', 0, 1, 1],
  ['[\u00a0]', 'Expecting value', 1, 1, 2],
  ['"\u00e9\\q"', 'Invalid \\escape', 2, 1, 3],
];

describe('parseJson: rejects what CPython rejects, with its reason and position', () => {
  it.each(ERRORS)('%j: %s at char %i', (text, reason, position, line, column) => {
    const error = syntaxError(text);
    expect({
      reason: error.reason,
      position: error.position,
      line: error.line,
      column: error.column,
    }).toEqual({
      reason,
      position,
      line,
      column,
    });
    expect(error.message).toBe(`invalid JSON: ${reason} at line ${line} column ${column} (char ${position})`);
    expect(error.retryable).toBe(false);
  });

  it('reads like CPython in the message', () => {
    expect(syntaxError('"abc').message).toContain('Unterminated string starting at line 1 column 1 (char 0)');
    expect(syntaxError('"a\nb"').message).toContain('Invalid control character at line 1 column 3 (char 2)');
    expect(syntaxError('[1 2]').message).toContain("Expecting ',' delimiter at line 1 column 4 (char 3)");
  });
});

describe('parseJson: limits', () => {
  it('rejects 100k-deep nesting with JsonLimitError, not a stack overflow', () => {
    const n = 100_000;
    for (const text of [
      '['.repeat(n) + ']'.repeat(n),
      `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`,
      '['.repeat(n),
    ]) {
      expect(() => parseJson(text)).toThrow(JsonLimitError);
    }
  });

  it('accepts exactly maxDepth levels and rejects one more', () => {
    const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    expect(() => parseJson(nested(DEFAULT_MAX_DEPTH))).not.toThrow();
    expect(() => parseJson(nested(DEFAULT_MAX_DEPTH + 1))).toThrow(JsonLimitError);
    expect(() => parseJson(nested(3), { maxDepth: 3 })).not.toThrow();
    expect(() => parseJson(nested(4), { maxDepth: 3 })).toThrow(/deeper than 3 levels/);
    expect(() => parseJson('[{"a": []}]', { maxDepth: 2 })).toThrow(JsonLimitError);
    expect(parseJson('[1]', { maxDepth: 1 })).toEqual([new PyNumber('1', false)]);
  });

  it('parses deep nesting iteratively when the limit allows it', () => {
    const n = 200_000;
    let value = parseJson('['.repeat(n) + ']'.repeat(n), { maxDepth: n });
    let depth = 0;
    while (Array.isArray(value) && value.length > 0) {
      value = value[0]!;
      depth++;
    }
    expect(depth).toBe(n - 1);
  });

  it('rejects text longer than maxLength (16 MiB by default)', () => {
    expect(DEFAULT_MAX_LENGTH).toBe(16 * 1024 * 1024);
    expect(() => parseJson(`${' '.repeat(DEFAULT_MAX_LENGTH)}1`)).toThrow(JsonLimitError);
    expect(() => parseJson('[1, 2]', { maxLength: 5 })).toThrow(JsonLimitError);
    expect(parseJson('[1, 2]', { maxLength: 6 })).toHaveLength(2);
  });
});
