/**
 * CPython's `repr(float)`, which is also what `json.dumps` writes for a float (except for the
 * non-finite values, which `json.dumps` writes as `NaN`, `Infinity` and `-Infinity`).
 *
 * CPython prints the shortest digit string that reads back as the same double (David Gay's mode 0),
 * which is exactly the digit string ECMAScript's `Number.prototype.toExponential()` (no argument)
 * and `String(n)` produce; only the layout differs:
 *  - decimal exponent e (of the form d.ddd × 10^e) in -4 <= e < 16: fixed notation, always with a
 *    fractional part (`1.0`, `100.0`, `1234567890123456.0`, `0.0001`, `123.456`);
 *  - otherwise scientific notation, the mantissa without `.0` when it has a single digit, the
 *    exponent always signed and at least two digits long (`1e-05`, `1e+16`, `1.5e+300`, `5e-324`).
 */
export function pyFloatRepr(n: number): string {
  // biome-ignore lint/suspicious/noSelfCompare: the cheapest NaN test.
  if (n !== n) return 'NaN';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const abs = n < 0 ? -n : n;
  if (abs === Number.POSITIVE_INFINITY) return n < 0 ? '-Infinity' : 'Infinity';
  // The decimal exponent of the shortest digits is in [-4, 16) exactly when the double is in
  // [1e-4, 1e16): a shortest digit string never rounds across a power of ten that is itself the
  // nearest double to it. In that range JS `String` already uses fixed notation with the same
  // shortest digits, so only the `.0` of integral values is missing.
  if (abs >= 1e-4 && abs < 1e16) {
    const fixed = String(n);
    return Number.isInteger(n) ? `${fixed}.0` : fixed;
  }
  const sci = abs.toExponential(); // `d[.ddd]e+x` / `d[.ddd]e-x`, shortest round-trip digits
  const ePos = sci.indexOf('e');
  const expDigits = sci.slice(ePos + 2);
  return `${n < 0 ? '-' : ''}${sci.slice(0, ePos + 2)}${expDigits.length === 1 ? '0' : ''}${expDigits}`;
}
