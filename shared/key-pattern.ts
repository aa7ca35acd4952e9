/**
 * Key patterns with named parts: `/esi-worker/job_state/{api}/{collection}/{id}`.
 *
 * A `{name}` matches one non-empty key segment (no `/`). Routes use patterns to name the parts of a
 * source key and templates (the same syntax) to build the keys a stage reads.
 */

export type KeyParts = Readonly<Record<string, string>>;

export interface KeyPattern {
  readonly source: string;
  /** The literal text before the first `{name}`: the etcd prefix to watch. */
  readonly prefix: string;
  readonly names: readonly string[];
  /** The named parts of `key`, or undefined when the key does not match. */
  match(key: string): KeyParts | undefined;
  /** The key for these parts; throws when a part is missing or contains `/`. */
  build(parts: KeyParts): string;
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export class KeyPatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyPatternError';
  }
}

export function compileKeyPattern(source: string): KeyPattern {
  if (!source.startsWith('/'))
    throw new KeyPatternError(`key pattern ${JSON.stringify(source)} must start with "/"`);
  const names: string[] = [];
  // The text around the placeholders: `literals[i]` precedes `names[i]`, the last one ends the key.
  const literals: string[] = [];
  let last = 0;
  for (const m of source.matchAll(PLACEHOLDER)) {
    const name = m[1]!;
    if (names.includes(name))
      throw new KeyPatternError(`key pattern ${JSON.stringify(source)} repeats {${name}}`);
    names.push(name);
    literals.push(source.slice(last, m.index));
    last = m.index + m[0].length;
  }
  literals.push(source.slice(last));
  if (literals.some((literal) => /[{}]/.test(literal))) {
    throw new KeyPatternError(`key pattern ${JSON.stringify(source)} has an unbalanced "{" or "}"`);
  }
  const regex = new RegExp(`^${literals.map(escapeRegExp).join('([^/]+)')}$`);

  return {
    source,
    // Every brace left is a placeholder's, so the text before the first one is `literals[0]`.
    prefix: literals[0]!,
    names,
    match(key) {
      const m = regex.exec(key);
      if (!m) return undefined;
      const parts: Record<string, string> = {};
      names.forEach((name, i) => {
        parts[name] = m[i + 1]!;
      });
      return parts;
    },
    // Called for every key a stage reads or writes: pieces joined once, not a regex replace with
    // a callback per call (that was 2.6% of the bridge thread in a profiled in-process run). `join` returns one flat
    // string where `+=` would leave a cons string for etcd's Buffer.from to flatten later.
    build(parts) {
      const pieces: string[] = [literals[0]!];
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        const value = parts[name];
        if (value === undefined || value === '' || value.includes('/')) {
          throw new KeyPatternError(
            `key pattern ${source}: part {${name}} is missing or not one key segment`,
          );
        }
        pieces.push(value, literals[i + 1]!);
      }
      return pieces.join('');
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
