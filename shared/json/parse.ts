/**
 * A JSON parser that accepts exactly what CPython 3's `json.loads` (its C scanner, strict mode)
 * accepts, and returns what it returns, in the model of `value.ts`:
 *  - object keys in the order of their first appearance, integer-like keys included; a repeated
 *    key keeps its first position and takes its last value (a dict does that);
 *  - integers (no fraction, no exponent) kept exactly, with any number of digits (`-0` is `0`);
 *  - numbers with a fraction or an exponent as floats, printed as CPython prints them
 *    (`1E+2` is `100.0`, `1e400` is `Infinity`);
 *  - CPython's extra literals `NaN`, `Infinity` and `-Infinity`;
 *  - strings with every JSON escape, `\uXXXX` included (lone surrogates too); raw control
 *    characters (below U+0020) in strings rejected;
 *  - whitespace (space, tab, LF, CR only) around the value, and nothing else after it.
 *
 * Errors carry CPython's reason and position (a 0-based UTF-16 offset, which is also CPython's
 * code point offset for text without astral characters) with CPython's line and column. The
 * reason is CPython's message without the trailing " at" some of them have ("Unterminated string
 * starting at"), because the error message appends " at line L column C (char P)" itself.
 * Where CPython versions differ, this follows CPython 3.11 (e.g. a trailing comma is "Expecting
 * value" / "Expecting property name enclosed in double quotes"; 3.13 says "Illegal trailing comma").
 *
 * Differences from CPython, on purpose: nesting deeper than `maxDepth` (CPython: RecursionError
 * near its recursion limit) and text longer than `maxLength` throw `JsonLimitError`; integers of
 * more than 4300 digits are accepted (CPython >= 3.11 raises ValueError for them by default).
 *
 * The parser is iterative (an explicit stack of open containers), so no nesting depth can
 * overflow the JS stack.
 */
import { JsonLimitError, JsonSyntaxError } from '../errors.js';
import { pyFloatRepr } from './float-repr.js';
import { PyNumber, PyObject, type PyValue } from './value.js';

/** Nesting levels (open arrays and objects) accepted by default. */
export const DEFAULT_MAX_DEPTH = 1000;
/** Text length (UTF-16 code units) accepted by default: 16 MiB. */
export const DEFAULT_MAX_LENGTH = 16 * 1024 * 1024;

export interface ParseLimits {
  /** Most arrays/objects open at once; default 1000. */
  maxDepth?: number;
  /** Longest text accepted, in UTF-16 code units (`text.length`); default 16 MiB. */
  maxLength?: number;
}

const QUOTE = 0x22; // "
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_1 = 0x31;
const DIGIT_9 = 0x39;

/** The character a short escape (`\n`, `\"`, ...) stands for, by the code of the escape letter. */
const SHORT_ESCAPES: (string | undefined)[] = [];
SHORT_ESCAPES[0x22] = '"';
SHORT_ESCAPES[0x5c] = '\\';
SHORT_ESCAPES[0x2f] = '/';
SHORT_ESCAPES[0x62] = '\b';
SHORT_ESCAPES[0x66] = '\f';
SHORT_ESCAPES[0x6e] = '\n';
SHORT_ESCAPES[0x72] = '\r';
SHORT_ESCAPES[0x74] = '\t';

function isDigit(c: number): boolean {
  return c >= DIGIT_0 && c <= DIGIT_9;
}

/** Index of the first non-whitespace character at or after `i` (JSON whitespace only). */
function skipWhitespace(text: string, i: number, len: number): number {
  while (i < len) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else break;
  }
  return i;
}

function hexValue(c: number): number {
  if (c >= DIGIT_0 && c <= DIGIT_9) return c - DIGIT_0;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** Throws CPython's error for `text` at `position`, with its 1-based line and column. */
function fail(text: string, reason: string, position: number): never {
  let line = 1;
  let lastNewline = -1;
  for (let i = text.indexOf('\n'); i !== -1 && i < position; i = text.indexOf('\n', i + 1)) {
    line++;
    lastNewline = i;
  }
  throw new JsonSyntaxError(reason, position, line, position - lastNewline);
}

class Scanner {
  /** Index just after the last string scanned. */
  end = 0;

  constructor(
    readonly text: string,
    readonly len: number,
  ) {}

  /**
   * The string whose opening quote is just before `start`; sets `end` past its closing quote.
   * Mirrors CPython's `scanstring_unicode`, error positions included.
   */
  scanString(start: number): string {
    const text = this.text;
    const len = this.len;
    let i = start;
    let c = 0;
    for (; i < len; i++) {
      c = text.charCodeAt(i);
      if (c === QUOTE) {
        this.end = i + 1;
        return text.slice(start, i);
      }
      if (c === BACKSLASH) break;
      if (c < 0x20) fail(text, 'Invalid control character', i);
    }
    if (i >= len) fail(text, 'Unterminated string starting', start - 1);
    let out = text.slice(start, i);
    for (;;) {
      // text[i] is a backslash.
      i++;
      if (i === len) fail(text, 'Unterminated string starting', start - 1);
      c = text.charCodeAt(i);
      if (c === 0x75) {
        // \uXXXX. CPython wants a character after the four digits (at least the closing quote).
        // A surrogate pair needs no joining: JS strings are UTF-16 already.
        if (i + 5 >= len) fail(text, 'Invalid \\uXXXX escape', i);
        const h1 = hexValue(text.charCodeAt(i + 1));
        const h2 = hexValue(text.charCodeAt(i + 2));
        const h3 = hexValue(text.charCodeAt(i + 3));
        const h4 = hexValue(text.charCodeAt(i + 4));
        if ((h1 | h2 | h3 | h4) < 0) fail(text, 'Invalid \\uXXXX escape', i);
        out += String.fromCharCode((h1 << 12) | (h2 << 8) | (h3 << 4) | h4);
        i += 5;
      } else {
        const unescaped = SHORT_ESCAPES[c];
        if (unescaped === undefined) fail(text, 'Invalid \\escape', i - 1);
        out += unescaped;
        i++;
      }
      const run = i;
      for (; i < len; i++) {
        c = text.charCodeAt(i);
        if (c === QUOTE) {
          this.end = i + 1;
          return run < i ? out + text.slice(run, i) : out;
        }
        if (c === BACKSLASH) break;
        if (c < 0x20) fail(text, 'Invalid control character', i);
      }
      if (i >= len) fail(text, 'Unterminated string starting', start - 1);
      if (run < i) out += text.slice(run, i);
    }
  }

  /**
   * An object key at `i` (after the whitespace), then the `:` and the whitespace after it; returns
   * the key and leaves the index of the value in `end`.
   */
  scanKey(i: number): string {
    const text = this.text;
    const len = this.len;
    if (i >= len || text.charCodeAt(i) !== QUOTE) {
      fail(text, 'Expecting property name enclosed in double quotes', i);
    }
    const key = this.scanString(i + 1);
    i = skipWhitespace(text, this.end, len);
    if (i >= len || text.charCodeAt(i) !== COLON) fail(text, "Expecting ':' delimiter", i);
    this.end = skipWhitespace(text, i + 1, len);
    return key;
  }

  /** The number at `start`; sets `end` past it. Mirrors CPython's `_match_number_unicode`. */
  scanNumber(start: number): PyNumber {
    const text = this.text;
    const len = this.len;
    let i = start;
    let c = text.charCodeAt(i);
    if (c === MINUS) {
      i++;
      if (i >= len) fail(text, 'Expecting value', start);
      c = text.charCodeAt(i);
    }
    if (c >= DIGIT_1 && c <= DIGIT_9) {
      i++;
      while (i < len && isDigit(text.charCodeAt(i))) i++;
    } else if (c === DIGIT_0) {
      i++;
    } else {
      fail(text, 'Expecting value', start);
    }
    let isFloat = false;
    // A fraction needs a digit after the point; "1." is the integer 1 followed by ".".
    if (i + 1 < len && text.charCodeAt(i) === 0x2e && isDigit(text.charCodeAt(i + 1))) {
      isFloat = true;
      i += 2;
      while (i < len && isDigit(text.charCodeAt(i))) i++;
    }
    // An exponent needs a digit; otherwise the number ends before the "e".
    if (i + 1 < len && (text.charCodeAt(i) | 0x20) === 0x65) {
      const eStart = i;
      i++;
      c = text.charCodeAt(i);
      if (i + 1 < len && (c === 0x2b || c === MINUS)) i++;
      while (i < len && isDigit(text.charCodeAt(i))) i++;
      if (isDigit(text.charCodeAt(i - 1))) isFloat = true;
      else i = eStart;
    }
    this.end = i;
    const literal = text.slice(start, i);
    if (isFloat) return new PyNumber(pyFloatRepr(Number(literal)), true);
    return new PyNumber(literal === '-0' ? '0' : literal, false);
  }
}

/**
 * Parses `text` as CPython 3's `json.loads` does (see the module comment). Throws
 * `JsonSyntaxError` where `json.loads` raises `JSONDecodeError`, and `JsonLimitError` when the
 * text is longer than `maxLength` or nests deeper than `maxDepth`.
 */
export function parseJson(text: string, limits?: ParseLimits): PyValue {
  const maxDepth = limits?.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxLength = limits?.maxLength ?? DEFAULT_MAX_LENGTH;
  const len = text.length;
  if (len > maxLength) {
    throw new JsonLimitError(`JSON text of ${len} characters is longer than the limit of ${maxLength}`);
  }
  // json.loads refuses a str that starts with a byte order mark.
  if (text.charCodeAt(0) === 0xfeff) fail(text, 'Unexpected UTF-8 BOM (decode using utf-8-sig)', 0);

  const scanner = new Scanner(text, len);
  /** Open containers, innermost last. */
  const open: (PyValue[] | PyObject)[] = [];
  /** For each open object, the key its next value goes to ('' for arrays). */
  const keys: string[] = [];
  let value: PyValue = null;
  let i = skipWhitespace(text, 0, len);

  for (;;) {
    // Read one value at i.
    if (i >= len) fail(text, 'Expecting value', i);
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      value = scanner.scanString(i + 1);
      i = scanner.end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (open.length >= maxDepth) {
        throw new JsonLimitError(`JSON nested deeper than ${maxDepth} levels (char ${i})`);
      }
      const close = c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
      i = skipWhitespace(text, i + 1, len);
      if (i < len && text.charCodeAt(i) === close) {
        value = c === OPEN_BRACE ? new PyObject() : [];
        i++;
      } else {
        if (c === OPEN_BRACE) {
          keys.push(scanner.scanKey(i));
          i = scanner.end;
          open.push(new PyObject());
        } else {
          keys.push('');
          open.push([]);
        }
        continue;
      }
    } else if (c === 0x6e && text.startsWith('null', i)) {
      value = null;
      i += 4;
    } else if (c === 0x74 && text.startsWith('true', i)) {
      value = true;
      i += 4;
    } else if (c === 0x66 && text.startsWith('false', i)) {
      value = false;
      i += 5;
    } else if (c === 0x4e && text.startsWith('NaN', i)) {
      value = new PyNumber('NaN', true);
      i += 3;
    } else if (c === 0x49 && text.startsWith('Infinity', i)) {
      value = new PyNumber('Infinity', true);
      i += 8;
    } else if (c === MINUS && text.startsWith('-Infinity', i)) {
      value = new PyNumber('-Infinity', true);
      i += 9;
    } else {
      value = scanner.scanNumber(i);
      i = scanner.end;
    }

    // Hand the value to the open containers, closing those that end here.
    for (;;) {
      const depth = open.length - 1;
      if (depth < 0) {
        i = skipWhitespace(text, i, len);
        if (i !== len) fail(text, 'Extra data', i);
        return value;
      }
      const container = open[depth]!;
      i = skipWhitespace(text, i, len);
      const d = i < len ? text.charCodeAt(i) : -1;
      if (Array.isArray(container)) {
        container.push(value);
        if (d === COMMA) {
          i = skipWhitespace(text, i + 1, len);
          break;
        }
        if (d !== CLOSE_BRACKET) fail(text, "Expecting ',' delimiter", i);
      } else {
        container.entries.set(keys[depth]!, value);
        if (d === COMMA) {
          keys[depth] = scanner.scanKey(skipWhitespace(text, i + 1, len));
          i = scanner.end;
          break;
        }
        if (d !== CLOSE_BRACE) fail(text, "Expecting ',' delimiter", i);
      }
      open.pop();
      keys.pop();
      value = container;
      i++;
    }
  }
}
