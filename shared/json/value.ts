/**
 * The value model of the Python-compatible JSON codec.
 *
 * `JSON.parse` cannot be used for the records: it reorders integer-like keys ("10" before "a"),
 * loses integers past 2^53, and forgets whether a number was written as a float (`1.0`, `1E+2`).
 * CPython's `json.loads` does none of that, and the other components compare our output byte for
 * byte with what CPython would write, so the codec keeps exactly what CPython keeps.
 */

/** A JSON number, held as the text CPython prints for it after `json.loads` (int or float repr). */
export class PyNumber {
  constructor(
    /** CPython's text: `1`, `-5`, `123456789012345678901234567890`, `1.0`, `1e-05`, `-0.0`, `Infinity`. */
    readonly repr: string,
    /** True when CPython holds it as a float (the source text had a fraction or an exponent). */
    readonly isFloat: boolean,
  ) {}

  /** The value as a JS number (lossy past 2^53). */
  toNumber(): number {
    return Number(this.repr);
  }
}

/**
 * A JSON object with CPython's dict semantics: keys in the order of their first appearance in the
 * text; a repeated key keeps its first position and takes its last value (`json.loads` does that).
 */
export class PyObject {
  readonly entries: Map<string, PyValue>;

  constructor(entries?: Iterable<readonly [string, PyValue]>) {
    this.entries = new Map(entries);
  }

  get(key: string): PyValue | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }
}

/** Everything `json.loads` can return, in this codec's model. */
export type PyValue = null | boolean | string | PyNumber | PyValue[] | PyObject;

/**
 * A plain JavaScript view of a value, for validation with zod: objects become plain objects,
 * numbers become JS numbers. Key order and number text are not kept; never encode from this view.
 */
export type PlainJson = null | boolean | string | number | PlainJson[] | { [key: string]: PlainJson };

export function toPlain(value: PyValue): PlainJson {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (value instanceof PyNumber) return value.toNumber();
  if (Array.isArray(value)) return value.map(toPlain);
  const out: { [key: string]: PlainJson } = {};
  // Defined, not assigned: assigning a "__proto__" key would set the object's prototype, and zod
  // would see inherited fields that the record (a Python dict) does not have.
  for (const [key, item] of value.entries)
    Object.defineProperty(out, key, {
      value: toPlain(item),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

/** Python's name for the type of a value, for error messages that a Python reader recognises. */
export function pyTypeName(value: PyValue): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'string') return 'string';
  if (value instanceof PyNumber) return 'number';
  if (Array.isArray(value)) return 'array';
  return 'object';
}
