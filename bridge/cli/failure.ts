/**
 * A failure as one readable line: the innermost cause that says something, not a wrapper's
 * message (a circuit breaker that opened after the real error, an SDK's generic "UnknownError").
 * The whole chain, with stacks, is for `--verbose`.
 */
import { errorMessage } from '../errors.js';

/** Messages that only say another error came first; the line shows that one instead. */
const WRAPPER_MESSAGES = [/circuit breaker is open/i, /^UnknownError$/, /^Unknown$/];

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let at: unknown = error;
  while (at !== undefined && at !== null && chain.length < 10 && !chain.includes(at)) {
    chain.push(at);
    at = at instanceof Error ? at.cause : undefined;
  }
  return chain;
}

export function describeFailure(error: unknown): string {
  const chain = causes(error);
  const telling = chain.find((e) => !WRAPPER_MESSAGES.some((re) => re.test(errorMessage(e))));
  const chosen = telling ?? chain[0];
  let text = errorMessage(chosen);
  if (WRAPPER_MESSAGES[0]!.test(text))
    text = `etcd did not answer (its client stopped trying after repeated failures): ${text}`;
  // One line: the first line of a multi-line message, the rest is detail.
  const [first = '', ...rest] = text.split('\n');
  return rest.length > 0 && !first.endsWith(':') ? first : text.replaceAll('\n', ' ').replace(/\s+/g, ' ');
}

export function failureDetails(error: unknown): string {
  return `${causes(error)
    .map(
      (e, i) => `${i === 0 ? '' : 'caused by: '}${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
    )
    .join('\n')}\n`;
}

let verbose = false;

/** `--verbose` was given: failures also print their details. Set once by main. */
export function setVerbose(on: boolean): void {
  verbose = on;
}

export function isVerbose(): boolean {
  return verbose;
}

/** What a command prints for a failure it handles itself: the line, and under --verbose the chain. */
export function failureText(error: unknown): string {
  return verbose ? `${describeFailure(error)}\n${failureDetails(error).trimEnd()}` : describeFailure(error);
}
