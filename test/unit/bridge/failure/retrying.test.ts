import { GRPCInvalidArgumentError, GRPCUnavailableError } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { retrying } from '../../../../bridge/failure/retrying.js';

const backoff = { initialDelayMs: 1, maxDelayMs: 1, random: () => 0 };

function failing(errors: Error[]): { work: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    work: async () => {
      calls++;
      const error = errors.shift();
      if (error) throw error;
      return 'ok';
    },
    calls: () => calls,
  };
}

describe('retrying', () => {
  it('tries a transient failure again until it succeeds', async () => {
    const call = failing([new GRPCUnavailableError('down'), new GRPCUnavailableError('down')]);
    expect(await retrying(call.work, { patienceMs: 10_000, backoff })).toBe('ok');
    expect(call.calls()).toBe(3);
  });

  it('throws a failure that is not transient at once', async () => {
    const refused = new GRPCInvalidArgumentError('etcdserver: request is too large');
    const call = failing([refused]);
    await expect(retrying(call.work, { patienceMs: 10_000, backoff })).rejects.toBe(refused);
    expect(call.calls()).toBe(1);
  });

  it('throws the transient failure itself once its patience is over', async () => {
    // Prepare: a clock that jumps 1 s a read; patience 2.5 s
    let clock = 0;
    const down = new GRPCUnavailableError('down');
    const call = failing(Array.from({ length: 10 }, () => down));
    // Act / Assess
    await expect(
      retrying(call.work, { patienceMs: 2_500, backoff, now: () => (clock += 1_000) }),
    ).rejects.toBe(down);
    expect(call.calls()).toBeLessThan(10);
  });
});
