import { describe, expect, it } from 'vitest';
import { JsonLimitError } from '../../../../shared/errors.js';
import { dumpsCompact, dumpsIndented, MAX_ENCODE_DEPTH } from '../../../../shared/json/encode.js';
import { PyNumber, PyObject, type PyValue } from '../../../../shared/json/value.js';

const int = (repr: string) => new PyNumber(repr, false);

describe('dumpsIndented / dumpsCompact', () => {
  const value = new PyObject([
    ['b', [int('1'), new PyNumber('2.5', true), null, true, false]],
    ['a', new PyObject([['x', []]])],
    ['e', new PyObject()],
  ]);

  it("write Python 2's json.dumps(obj, indent=4): lines end in a comma and a space", () => {
    expect(dumpsIndented(value)).toBe(
      [
        '{',
        '    "b": [',
        '        1, ',
        '        2.5, ',
        '        null, ',
        '        true, ',
        '        false',
        '    ], ',
        '    "a": {',
        '        "x": []',
        '    }, ',
        '    "e": {}',
        '}',
      ].join('\n'),
    );
  });

  it('write json.dumps(obj) on one line', () => {
    expect(dumpsCompact(value)).toBe('{"b": [1, 2.5, null, true, false], "a": {"x": []}, "e": {}}');
  });

  it('write scalars at the top level', () => {
    for (const dumps of [dumpsIndented, dumpsCompact]) {
      expect(dumps(null)).toBe('null');
      expect(dumps(int('-5'))).toBe('-5');
      expect(dumps('x')).toBe('"x"');
      expect(dumps([])).toBe('[]');
      expect(dumps(new PyObject())).toBe('{}');
    }
  });

  it('escape strings as ensure_ascii does', () => {
    const cases: [string, string][] = [
      ['plain / text ~', '"plain / text ~"'],
      ['"\\\n\r\t\b\f', '"\\"\\\\\\n\\r\\t\\b\\f"'],
      ['\u0000\u0001\u001f\u007f', '"\\u0000\\u0001\\u001f\\u007f"'],
      ['é\u0100\u0fff\u1000\uffff', '"\\u00e9\\u0100\\u0fff\\u1000\\uffff"'],
      ['😀', '"\\ud83d\\ude00"'],
      ['\ud800 lone', '"\\ud800 lone"'],
      ['a\u2028b', '"a\\u2028b"'],
    ];
    for (const [s, json] of cases) {
      expect(dumpsCompact(s)).toBe(json);
      expect(dumpsCompact(new PyObject([[s, s]]))).toBe(`{${json}: ${json}}`);
    }
  });

  it('refuse what is not a PyValue, like json.dumps refuses what it cannot serialise', () => {
    expect(() => dumpsCompact(5 as unknown as PyValue)).toThrow(
      /Object of type Number is not JSON serializable/,
    );
    expect(() => dumpsIndented([undefined] as unknown as PyValue)).toThrow(TypeError);
    expect(() => dumpsCompact({ a: 1 } as unknown as PyValue)).toThrow(TypeError);
  });

  it('refuse a cyclic value with JsonLimitError instead of overflowing the stack', () => {
    const cyclic: PyValue[] = [];
    cyclic.push(cyclic);
    expect(() => dumpsIndented(cyclic)).toThrow(JsonLimitError);
    expect(() => dumpsCompact(cyclic)).toThrow(JsonLimitError);
  });

  it('write MAX_ENCODE_DEPTH nested containers and refuse one more', () => {
    const nested = (depth: number) => {
      let value: PyValue = [];
      for (let k = 1; k < depth; k++) value = k % 2 ? new PyObject([['k', value]]) : [value];
      return value;
    };
    expect(MAX_ENCODE_DEPTH).toBe(1000);
    expect(dumpsCompact(nested(MAX_ENCODE_DEPTH))).toMatch(/^\{"k": \[\{.*\}\]\}$/);
    expect(dumpsIndented(nested(MAX_ENCODE_DEPTH)).split('\n')).toHaveLength(2 * MAX_ENCODE_DEPTH - 1);
    expect(() => dumpsCompact(nested(MAX_ENCODE_DEPTH + 1))).toThrow(JsonLimitError);
    expect(() => dumpsIndented(nested(MAX_ENCODE_DEPTH + 1))).toThrow(JsonLimitError);
  });
});
