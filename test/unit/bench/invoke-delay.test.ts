import { afterEach, describe, expect, it, vi } from 'vitest';
import { delayedHost } from '../../../bench/invoke-delay.js';
import type { FunctionHost, HostedInvocation } from '../../../bridge/lambda-endpoint/function-host.js';

const invocation: HostedInvocation = {
  functionName: 'heat-stacks',
  requestId: 'r1',
  payload: '{}',
  event: {},
  wantsLogTail: false,
  waitForCapacity: false,
};

function fakeHost() {
  const calls: string[] = [];
  const host: FunctionHost = {
    names: ['heat-stacks'],
    has: (name) => name === 'heat-stacks',
    invoke: async (inv) => {
      calls.push(inv.requestId);
      return { outcome: { kind: 'success', body: '{"results":[]}' } };
    },
    close: async () => {
      calls.push('closed');
    },
  };
  return { host, calls };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('delayedHost', () => {
  it('runs each invocation only after the delay, then answers what the host answers', async () => {
    vi.useFakeTimers();
    const { host, calls } = fakeHost();
    const delayed = delayedHost(host, 20);
    const answer = delayed.invoke(invocation);
    await vi.advanceTimersByTimeAsync(19);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(['r1']);
    await expect(answer).resolves.toEqual(await host.invoke(invocation));
  });

  it('serves the same functions and closes the host', async () => {
    const { host, calls } = fakeHost();
    const delayed = delayedHost(host, 0);
    expect(delayed.names).toEqual(['heat-stacks']);
    expect(delayed.has('heat-stacks')).toBe(true);
    expect(delayed.has('job-state')).toBe(false);
    await delayed.close();
    expect(calls).toEqual(['closed']);
  });

  it('refuses a negative delay', () => {
    expect(() => delayedHost(fakeHost().host, -1)).toThrow(RangeError);
  });
});
