/**
 * Encoders that write exactly what CPython's `json.dumps` writes (with its defaults
 * `ensure_ascii=True`, `allow_nan=True`, no key sorting):
 *  - `dumpsIndented`: Python 2's `json.dumps(obj, indent=4)`, which is Python 3's
 *    `json.dumps(obj, indent=4, separators=(', ', ': '))`: a newline and four spaces per level
 *    before each item, items separated by `", "` + newline (lines end in a comma and a space),
 *    `": "` after keys, `[]` and `{}` for empty containers;
 *  - `dumpsCompact`: `json.dumps(obj)`: one line, `", "` between items, `": "` after keys.
 *
 * Strings are written ASCII-only as CPython's `ensure_ascii` does: `\"`, `\\`, `\n`, `\r`, `\t`,
 * `\b`, `\f` as short escapes, every other character outside U+0020..U+007E as `\uXXXX` in
 * lowercase hex (astral characters as their two surrogates), `/` as is. Numbers print their `repr`.
 */
import { JsonLimitError } from '../errors.js';
import { PyNumber, PyObject, type PyValue } from './value.js';

/**
 * Most arrays/objects nested in a value the encoders write: the same as `parseJson`'s default
 * `maxDepth`, so whatever it accepts by default can be written back (CPython's own encoder gives up
 * near there too, with RecursionError). The encoders recurse; this bound keeps them well clear of
 * the JS stack limit, and turns a cyclic value (CPython: "Circular reference detected") into a
 * `JsonLimitError` instead of a stack overflow.
 */
export const MAX_ENCODE_DEPTH = 1000;

/** The escape of each code unit below 0x80 that needs one, by code. */
const ASCII_ESCAPES: string[] = [];
for (let c = 0; c < 0x80; c++) {
  ASCII_ESCAPES[c] =
    c < 0x20 || c === 0x7f ? `\\u${c.toString(16).padStart(4, '0')}` : String.fromCharCode(c);
}
ASCII_ESCAPES[0x22] = '\\"';
ASCII_ESCAPES[0x5c] = '\\\\';
ASCII_ESCAPES[0x0a] = '\\n';
ASCII_ESCAPES[0x0d] = '\\r';
ASCII_ESCAPES[0x09] = '\\t';
ASCII_ESCAPES[0x08] = '\\b';
ASCII_ESCAPES[0x0c] = '\\f';

function escapeUnit(c: number): string {
  if (c < 0x80) return ASCII_ESCAPES[c]!;
  if (c >= 0x1000) return `\\u${c.toString(16)}`;
  return `\\u${c.toString(16).padStart(4, '0')}`;
}

/** A JSON string literal for `s`, as CPython's `encode_basestring_ascii` writes it. */
function quote(s: string): string {
  const len = s.length;
  let i = 0;
  // Fast path: nothing to escape.
  for (; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) break;
  }
  if (i === len) return `"${s}"`;
  let out = `"${s.slice(0, i)}${escapeUnit(s.charCodeAt(i))}`;
  let run = ++i;
  for (; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
      if (run < i) out += s.slice(run, i);
      out += escapeUnit(c);
      run = i + 1;
    }
  }
  return run < len ? `${out}${s.slice(run)}"` : `${out}"`;
}

function notSerializable(value: unknown): never {
  const type = value === undefined ? 'undefined' : (value?.constructor?.name ?? typeof value);
  throw new TypeError(
    `Object of type ${type} is not JSON serializable (the codec encodes PyValue: null, boolean, string, PyNumber, array, PyObject)`,
  );
}

function tooDeep(): never {
  throw new JsonLimitError(`value nested deeper than ${MAX_ENCODE_DEPTH} levels (or cyclic); not encoded`);
}

/** `'\n'` followed by 4 spaces per level, by level. */
const NEWLINE_INDENTS: string[] = ['\n'];

function newlineIndent(level: number): string {
  let s = NEWLINE_INDENTS[level];
  if (s === undefined) {
    s = `\n${'    '.repeat(level)}`;
    NEWLINE_INDENTS[level] = s;
  }
  return s;
}

function encodeIndented(value: PyValue, level: number): string {
  if (typeof value === 'string') return quote(value);
  if (value instanceof PyNumber) return value.repr;
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (level >= MAX_ENCODE_DEPTH) tooDeep();
  const inner = level + 1;
  const indent = newlineIndent(inner);
  if (Array.isArray(value)) {
    const n = value.length;
    if (n === 0) return '[]';
    let out = `[${indent}${encodeIndented(value[0]!, inner)}`;
    for (let k = 1; k < n; k++) out += `, ${indent}${encodeIndented(value[k]!, inner)}`;
    return `${out}${newlineIndent(level)}]`;
  }
  if (!(value instanceof PyObject)) notSerializable(value);
  if (value.entries.size === 0) return '{}';
  let out = '{';
  let first = true;
  for (const [key, item] of value.entries) {
    out += `${first ? '' : ', '}${indent}${quote(key)}: ${encodeIndented(item, inner)}`;
    first = false;
  }
  return `${out}${newlineIndent(level)}}`;
}

function encodeCompact(value: PyValue, level: number): string {
  if (typeof value === 'string') return quote(value);
  if (value instanceof PyNumber) return value.repr;
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (level >= MAX_ENCODE_DEPTH) tooDeep();
  const inner = level + 1;
  if (Array.isArray(value)) {
    const n = value.length;
    if (n === 0) return '[]';
    let out = `[${encodeCompact(value[0]!, inner)}`;
    for (let k = 1; k < n; k++) out += `, ${encodeCompact(value[k]!, inner)}`;
    return `${out}]`;
  }
  if (!(value instanceof PyObject)) notSerializable(value);
  if (value.entries.size === 0) return '{}';
  let out = '{';
  let first = true;
  for (const [key, item] of value.entries) {
    out += `${first ? '' : ', '}${quote(key)}: ${encodeCompact(item, inner)}`;
    first = false;
  }
  return `${out}}`;
}

/**
 * `s` as one flat string. The encoders build their output with `+=`, which V8 keeps as a tree of
 * cons strings: a job_state of ~730 characters is ~4.4 KB of heap as built and ~0.7 KB flat, and a
 * bridge keeps thousands of outputs queued for their transactions during a backlog. Number()
 * flattens its argument in place (V8 parses flat strings only; "flatstr" does the same) on Node 20
 * and 24 alike, where charCodeAt and indexOf no longer do on Node 24, then fails on the leading
 * `{`, `[` or `"` at once; the copy is one the UTF-8 encode for etcd would make later anyway.
 */
function flat(s: string): string {
  Number(s);
  return s;
}

/** Python 2's `json.dumps(value, indent=4)` = Python 3's `json.dumps(value, indent=4, separators=(', ', ': '))`. */
export function dumpsIndented(value: PyValue): string {
  return flat(encodeIndented(value, 0));
}

/** CPython's `json.dumps(value)`: one line, `", "` between items and `": "` after keys. */
export function dumpsCompact(value: PyValue): string {
  return flat(encodeCompact(value, 0));
}
