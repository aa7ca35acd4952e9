import { RecordValidationError } from '../errors.js';

const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/** A value's bytes as text; a value that is not UTF-8 is bad input, not something to guess at. */
export function decodeUtf8(bytes: Uint8Array, key: string): string {
  try {
    return strictDecoder.decode(bytes);
  } catch (error) {
    throw new RecordValidationError(key, 'value', 'is not valid UTF-8', { cause: error });
  }
}
