import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pyFloatRepr } from '../../../../shared/json/float-repr.js';

// Expected values are CPython 3.11's repr(float) (json.dumps spelling for the non-finite ones).
const TABLE: [number, string][] = [
  [0, '0.0'],
  [-0, '-0.0'],
  [1, '1.0'],
  [-1, '-1.0'],
  [100, '100.0'],
  [1e15, '1000000000000000.0'],
  [1234567890123456, '1234567890123456.0'],
  [9999999999999998, '9999999999999998.0'],
  [Number('9007199254740993'), '9007199254740992.0'],
  [1e16, '1e+16'],
  [-1e16, '-1e+16'],
  [Number('12345678901234567'), '1.2345678901234568e+16'],
  [1e21, '1e+21'],
  [1e22, '1e+22'],
  [1e100, '1e+100'],
  [1.5e300, '1.5e+300'],
  [1.7976931348623157e308, '1.7976931348623157e+308'],
  [0.0001, '0.0001'],
  [0.00012345, '0.00012345'],
  [0.00001, '1e-05'],
  [-123.456e-10, '-1.23456e-08'],
  [0.1, '0.1'],
  [0.1 + 0.2, '0.30000000000000004'],
  [1 / 3, '0.3333333333333333'],
  [2 / 3, '0.6666666666666666'],
  [123.456, '123.456'],
  [2.2250738585072014e-308, '2.2250738585072014e-308'],
  [5e-324, '5e-324'],
  [Number.POSITIVE_INFINITY, 'Infinity'],
  [Number.NEGATIVE_INFINITY, '-Infinity'],
  [Number.NaN, 'NaN'],
];

describe('pyFloatRepr', () => {
  it.each(TABLE)('%s -> %s', (n, repr) => {
    expect(pyFloatRepr(n)).toBe(repr);
  });

  it('round-trips every finite double, with a fraction or an exponent', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        const repr = pyFloatRepr(n);
        expect(Object.is(Number(repr), n)).toBe(true);
        expect(repr).toMatch(/^-?(\d+\.\d+|\d(\.\d+)?e[-+]\d{2,3})$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('uses the layout CPython picks from the shortest digits (reference built from toExponential)', () => {
    // An independent, slow reference of CPython's format_float_short for mode 'r'.
    const reference = (n: number): string => {
      const sign = n < 0 || Object.is(n, -0) ? '-' : '';
      const [mantissa, exp] = Math.abs(n).toExponential().split('e') as [string, string];
      const digits = mantissa.replace('.', '');
      const e = Number(exp);
      if (e < -4 || e >= 16)
        return `${sign}${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
      if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
      if (digits.length > e + 1) return `${sign}${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
      return `${sign}${digits}${'0'.repeat(e + 1 - digits.length)}.0`;
    };
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        expect(pyFloatRepr(n)).toBe(reference(n));
      }),
      { numRuns: 5000 },
    );
  });
});
