import { describe, expect, it } from 'vitest';
import {
  BoundedLog,
  LOG_TAIL_BYTES,
  logTail,
  reportLine,
} from '../../../../../bridge/lambda-endpoint/runtime/invocation-log.js';

describe('the invocation log as Lambda writes it', () => {
  it('a REPORT line is tab-separated, with Init Duration on a cold start only', () => {
    const fields = { requestId: 'r-1', durationMs: 12.345, memoryMiB: 256, maxMemoryUsedMiB: 64 };
    expect(reportLine({ ...fields, initDurationMs: 250.5 })).toBe(
      'REPORT RequestId: r-1\tDuration: 12.35 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\tMax Memory Used: 64 MB\tInit Duration: 250.50 ms\t\n',
    );
    expect(reportLine({ ...fields, initDurationMs: undefined })).not.toContain('Init Duration');
  });

  it('the tail is the whole log when short, base64', () => {
    expect(Buffer.from(logTail('START x\nEND x\n'), 'base64').toString()).toBe('START x\nEND x\n');
  });

  it('the tail is the last 4 KB, starting on a character boundary', () => {
    // Each é is 2 bytes: a cut at an odd offset would split one.
    const log = `${'é'.repeat(3000)}last line\n`;
    const tail = Buffer.from(logTail(log), 'base64');
    expect(tail.length).toBeLessThanOrEqual(LOG_TAIL_BYTES);
    expect(tail.length).toBeGreaterThanOrEqual(LOG_TAIL_BYTES - 1);
    expect(tail.toString('utf8')).not.toContain('\ufffd');
    expect(tail.toString('utf8').endsWith('last line\n')).toBe(true);
  });

  it('a bounded log keeps the end of what a chatty function writes', () => {
    const log = new BoundedLog(10);
    log.append('0123456789');
    log.append('abc');
    expect(log.text()).toBe('3456789abc');
  });
});
