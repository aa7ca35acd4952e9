/**
 * Property test against the real thing: random JSON texts are parsed and re-encoded by the codec
 * and by CPython (`python3` on this machine, spawned once for the whole batch), and the outputs
 * must be equal byte for byte:
 *   dumpsIndented(parseJson(t)) === json.dumps(json.loads(t), indent=4, separators=(', ', ': '))
 *   dumpsCompact(parseJson(t))  === json.dumps(json.loads(t))
 * A share of the texts are mutated (a character deleted, inserted or replaced); for those that
 * CPython rejects, the codec must reject them too, with the same reason at the same position.
 *
 * The seed is random and printed with any mismatch; JSON_PROPERTY_SEED=<n> replays a run and
 * JSON_PROPERTY_RUNS=<n> changes the number of texts.
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonSyntaxError } from '../../../../shared/errors.js';
import { dumpsCompact, dumpsIndented } from '../../../../shared/json/encode.js';
import { parseJson } from '../../../../shared/json/parse.js';

// ---------------------------------------------------------------------------------------------
// Generators of JSON texts.

const hex4 = (code: number) => code.toString(16).padStart(4, '0');

/** A \uXXXX escape with hex digits in random case. */
const unicodeEscape = (code: number) =>
  fc.boolean().map((upper) => `\\u${upper ? hex4(code).toUpperCase() : hex4(code)}`);

/** Random layout whitespace, mostly none. */
const ws = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r'), maxLength: 4 }) },
);

/** One piece of the inside of a string literal: raw characters or an escape. */
const stringPiece = fc.oneof(
  // Printable ASCII, without the quote and backslash that would end the string or start an escape.
  {
    weight: 6,
    arbitrary: fc
      .string({ unit: 'grapheme-ascii', maxLength: 6 })
      .map((s) => s.replace(/[^\x20-\x7e]|["\\]/g, '')),
  },
  // Any BMP code unit from U+007F on (non-ASCII, DEL, lone surrogates raw), and astral characters.
  { weight: 2, arbitrary: fc.integer({ min: 0x7f, max: 0xffff }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)) },
  { weight: 2, arbitrary: fc.constantFrom('\\"', '\\\\', '\\/', '\\b', '\\f', '\\n', '\\r', '\\t') },
  // Escaped control characters, any escaped code unit (lone surrogates too), escaped surrogate pairs.
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0x1f }).chain(unicodeEscape) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }).chain(unicodeEscape) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 0xd800, max: 0xdbff }), fc.integer({ min: 0xdc00, max: 0xdfff }))
      .chain(([high, low]) => fc.tuple(unicodeEscape(high), unicodeEscape(low)).map(([a, b]) => a + b)),
  },
);

const stringLiteral = fc.array(stringPiece, { maxLength: 8 }).map((pieces) => `"${pieces.join('')}"`);

const digits = (minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength, maxLength });

const sign = fc.constantFrom('', '', '-');

/** Integer texts: small, around 2^53 and 2^64, long (under 4000 digits: CPython refuses more). */
const integerText = fc.oneof(
  { weight: 4, arbitrary: fc.integer().map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('0', '-0', '9007199254740993', '-9007199254740993', '18446744073709551616'),
  },
  { weight: 2, arbitrary: fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }).map(String) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(sign, fc.integer({ min: 1, max: 9 }), digits(0, 3990))
      .map(([s, first, rest]) => `${s}${first}${rest}`),
  },
);

/** Exponent part in its various spellings: e/E, with or without sign, leading zeros. */
const exponentText = fc
  .tuple(
    fc.constantFrom('e', 'E'),
    fc.constantFrom('', '+', '-'),
    digits(0, 2),
    fc.integer({ min: 0, max: 400 }),
  )
  .map(([e, s, zeros, n]) => `${e}${s}${zeros}${n}`);

/** Float texts from doubles of every magnitude, written in several ways. */
const floatFromDouble = fc
  .tuple(
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom('string', 'exponential', 'precision', 'fixed', 'upper'),
  )
  .map(([d, style]) => {
    if (Object.is(d, -0)) return style === 'string' ? '-0.0' : '-0e0';
    switch (style) {
      case 'exponential':
        return d.toExponential();
      case 'precision':
        return d.toPrecision(17);
      case 'fixed':
        return Math.abs(d) < 1e21 ? d.toFixed(Math.abs(d) < 1e-6 ? 100 : 8) : String(d);
      case 'upper':
        return d.toExponential().toUpperCase().replace('+', '');
      default:
        return String(d);
    }
  });

/** Float texts built from parts: integer part, fraction, exponent. */
const floatFromParts = fc
  .tuple(
    sign,
    fc.oneof(
      fc.constant('0'),
      fc.tuple(fc.integer({ min: 1, max: 9 }), digits(0, 25)).map(([a, b]) => `${a}${b}`),
    ),
    fc.option(digits(1, 30), { nil: undefined }),
    fc.option(exponentText, { nil: undefined }),
  )
  .map(
    ([s, int, frac, exp]) =>
      `${s}${int}${frac === undefined ? '' : `.${frac}`}${exp ?? (frac === undefined ? 'e0' : '')}`,
  );

const numberText = fc.oneof(
  { weight: 3, arbitrary: integerText },
  { weight: 3, arbitrary: floatFromDouble },
  { weight: 3, arbitrary: floatFromParts },
  {
    weight: 1,
    arbitrary: fc.constantFrom('NaN', 'Infinity', '-Infinity', '1E+2', '1e-05', '1e16', '5e-324', '1e400'),
  },
);

/** Keys: mostly from a small pool (so duplicates happen, integer-like ones too), else any string. */
const keyText = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '"a"',
      '"b"',
      '"\\u0061"',
      '"10"',
      '"2"',
      '"0"',
      '"-1"',
      '"01"',
      '"1.0"',
      '""',
    ),
  },
  { weight: 1, arbitrary: stringLiteral },
);

const scalarText = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom('null', 'true', 'false') },
  { weight: 3, arbitrary: numberText },
  { weight: 3, arbitrary: stringLiteral },
);

const { value: valueText } = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
  value: fc.oneof({ maxDepth: 5, depthSize: 'small' }, scalarText, tie('array'), tie('object')),
  array: fc
    .tuple(ws, fc.array(fc.tuple(ws, tie('value'), ws), { maxLength: 6 }))
    .map(([inner, items]) =>
      items.length === 0 ? `[${inner}]` : `[${items.map(([a, v, b]) => `${a}${v}${b}`).join(',')}]`,
    ),
  object: fc
    .tuple(ws, fc.array(fc.tuple(ws, keyText, ws, ws, tie('value'), ws), { maxLength: 6 }))
    .map(([inner, entries]) =>
      entries.length === 0
        ? `{${inner}}`
        : `{${entries.map(([a, k, b, c, v, d]) => `${a}${k}${b}:${c}${v}${d}`).join(',')}}`,
    ),
}));

/** A few hundred levels of containers around a value, with siblings on the way. */
const deepText = fc
  .tuple(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 100, maxLength: 400 }), valueText, ws)
  .map(([levels, leaf, w]) => {
    let text = leaf;
    for (const kind of levels) {
      if (kind === 0) text = `[${w}${text}${w}]`;
      else if (kind === 1) text = `{"k":${w}${text}}`;
      else if (kind === 2) text = `[1,${w}${text},{}]`;
      else text = `{"10": [], "2":${text}, "a": "\\u00e9"}`;
    }
    return text;
  });

const documentText = fc
  .tuple(ws, fc.oneof({ weight: 19, arbitrary: valueText }, { weight: 1, arbitrary: deepText }), ws)
  .map(([a, v, b]) => `${a}${v}${b}`);

/** A document with one character deleted, inserted or replaced: mostly invalid JSON. */
const mutatedText = fc
  .tuple(
    valueText,
    fc.nat(),
    fc.constantFrom('delete', 'insert', 'replace'),
    fc.constantFrom(...',:[]{}"\\0123456789.eE+-xnul tfINa\n\t\u0001\u00a0\ufeff'),
  )
  .map(([text, at, op, c]) => {
    const i = at % (text.length + 1);
    if (op === 'delete') return text.slice(0, i) + text.slice(i + 1);
    if (op === 'insert') return text.slice(0, i) + c + text.slice(i);
    return text.slice(0, i) + c + text.slice(i + 1);
  });

// ---------------------------------------------------------------------------------------------
// CPython, once for all texts.

type PythonResult =
  | { indented: string; compact: string }
  | { error: string; pos: number }
  | { crash: string };

const PYTHON = `
import json, sys
texts = json.loads(sys.stdin.buffer.read().decode('utf-8'))
out = []
for t in texts:
    try:
        v = json.loads(t)
    except json.JSONDecodeError as e:
        out.append({'error': e.msg, 'pos': e.pos})
        continue
    except Exception as e:
        out.append({'crash': repr(e)})
        continue
    out.append({'indented': json.dumps(v, indent=4, separators=(', ', ': ')), 'compact': json.dumps(v)})
sys.stdout.write(json.dumps(out))
`;

function runCPython(texts: string[]): PythonResult[] {
  const result = spawnSync('python3', ['-c', PYTHON], {
    input: JSON.stringify(texts),
    encoding: 'utf8',
    maxBuffer: 1024 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`python3 failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout) as PythonResult[];
}

/** What the codec does with a text, in the same shape as the CPython results. */
function runCodec(text: string): PythonResult {
  try {
    const value = parseJson(text);
    return { indented: dumpsIndented(value), compact: dumpsCompact(value) };
  } catch (error) {
    if (error instanceof JsonSyntaxError) {
      // CPython counts code points, the codec UTF-16 code units.
      return { error: error.reason, pos: [...text.slice(0, error.position)].length };
    }
    return { crash: String(error) };
  }
}

/** CPython's JSONDecodeError msg as the codec words its reason ("... starting at" -> "... starting"). */
function normalise(expected: PythonResult): PythonResult {
  if ('error' in expected) return { error: expected.error.replace(/ at$/, ''), pos: expected.pos };
  return expected;
}

describe('parseJson + dumpsIndented / dumpsCompact against CPython', () => {
  it('write what CPython writes, byte for byte, and reject what it rejects', () => {
    const seed = Number(process.env.JSON_PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const runs = Number(process.env.JSON_PROPERTY_RUNS ?? 1500);
    const valid = fc.sample(documentText, { seed, numRuns: Math.ceil(runs * 0.8) });
    const mutated = fc.sample(mutatedText, { seed: seed + 1, numRuns: Math.floor(runs * 0.2) });
    const texts = [...valid, ...mutated];
    const expected = runCPython(texts);
    expect(expected).toHaveLength(texts.length);

    let accepted = 0;
    const mismatches: string[] = [];
    texts.forEach((text, i) => {
      const want = normalise(expected[i]!);
      if ('indented' in want) accepted++;
      const got = runCodec(text);
      // CPython 3.13+ words a trailing comma differently ("Illegal trailing comma ..." at the comma);
      // the codec follows 3.11 there, so only the rejection itself is compared.
      if ('error' in want && want.error.startsWith('Illegal trailing comma') && 'error' in got) return;
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        mismatches.push(
          [
            `case ${i} of ${texts.length} (JSON_PROPERTY_SEED=${seed}${i >= valid.length ? ', mutated' : ''})`,
            `input:   ${JSON.stringify(text)}`,
            `CPython: ${JSON.stringify(want)}`,
            `codec:   ${JSON.stringify(got)}`,
          ].join('\n'),
        );
      }
    });
    expect(mismatches.length, `${mismatches.length} mismatches; the first:\n${mismatches[0]}`).toBe(0);
    // Every generated valid text is valid for CPython too, and the mutations do get rejected.
    expect(accepted).toBeGreaterThanOrEqual(valid.length);
    expect(texts.length - accepted).toBeGreaterThan(mutated.length / 2);
  });
});
