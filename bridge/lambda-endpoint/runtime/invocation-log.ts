/**
 * The log of one invocation as Lambda writes it to CloudWatch (START, the function's own lines, END,
 * REPORT), and its tail as `X-Amz-Log-Type: Tail` returns it: the last 4 KB, base64.
 */

/** Lambda returns at most the last 4 KB of the invocation's log. */
export const LOG_TAIL_BYTES = 4096;

export interface ReportFields {
  requestId: string;
  durationMs: number;
  memoryMiB: number;
  maxMemoryUsedMiB: number | undefined;
  /** Set on a cold start only. */
  initDurationMs: number | undefined;
  status?: 'timeout' | 'error';
}

export function startLine(requestId: string): string {
  return `START RequestId: ${requestId} Version: $LATEST\n`;
}

export function endLine(requestId: string): string {
  return `END RequestId: ${requestId}\n`;
}

/** `REPORT RequestId: … Duration: 1.23 ms Billed Duration: 2 ms …` (tab-separated, as AWS writes it). */
export function reportLine(fields: ReportFields): string {
  const parts = [
    `REPORT RequestId: ${fields.requestId}`,
    `Duration: ${fields.durationMs.toFixed(2)} ms`,
    `Billed Duration: ${Math.max(1, Math.ceil(fields.durationMs))} ms`,
    `Memory Size: ${fields.memoryMiB} MB`,
  ];
  if (fields.maxMemoryUsedMiB !== undefined) parts.push(`Max Memory Used: ${fields.maxMemoryUsedMiB} MB`);
  if (fields.initDurationMs !== undefined)
    parts.push(`Init Duration: ${fields.initDurationMs.toFixed(2)} ms`);
  if (fields.status !== undefined) parts.push(`Status: ${fields.status}`);
  return `${parts.join('\t')}\t\n`;
}

/** The last `LOG_TAIL_BYTES` of the log, base64 (a cut multi-byte character is dropped, not mangled). */
export function logTail(log: string): string {
  const bytes = Buffer.from(log, 'utf8');
  if (bytes.length <= LOG_TAIL_BYTES) return bytes.toString('base64');
  let start = bytes.length - LOG_TAIL_BYTES;
  // Skip UTF-8 continuation bytes so the tail starts on a character boundary.
  while (start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start += 1;
  return bytes.subarray(start).toString('base64');
}

/** Collects text up to a bound, keeping the end: a chatty function cannot grow the endpoint's memory. */
export class BoundedLog {
  #text = '';
  constructor(private readonly maxChars = 64 * 1024) {}

  append(text: string): void {
    this.#text += text;
    if (this.#text.length > this.maxChars) this.#text = this.#text.slice(-this.maxChars);
  }

  text(): string {
    return this.#text;
  }
}
