/**
 * Replay traces: recorded etcd change streams, one JSON object a line, in the order they happened.
 * `input` lines are the world's changes to apply; `expect` lines are writes the pipeline must make.
 */
import { z } from 'zod';

export const TraceLineSchema = z.strictObject({
  seq: z.number().int().min(0),
  role: z.enum(['input', 'expect']),
  action: z.enum(['put', 'delete']),
  key: z.string().min(1),
  value: z.string().nullable(),
});
export type TraceLine = z.infer<typeof TraceLineSchema>;

export class TraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceError';
  }
}

export function parseTrace(text: string, source = 'trace'): TraceLine[] {
  const lines: TraceLine[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      throw new TraceError(
        `${source}:${i + 1}: not JSON: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const parsed = TraceLineSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new TraceError(`${source}:${i + 1}: ${issue.path.join('.') || '(line)'}: ${issue.message}`);
    }
    if (parsed.data.action === 'put' && parsed.data.value === null) {
      throw new TraceError(`${source}:${i + 1}: value: a put needs a value`);
    }
    lines.push(parsed.data);
  });
  return lines;
}
