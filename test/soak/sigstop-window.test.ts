/**
 * The SIGSTOP fault's fencing window (faults.ts): the soak's only check that a deposed leader
 * commits nothing. Its window closes 1.5 s after SIGCONT and the other bridges run again, so a
 * deposed bridge still running then must be reported: whatever it commits from then on is beside
 * the new leader, outside every window, and no judge can tell it from the leader's.
 */
import type { Etcd3 } from 'etcd3';
import { describe, expect, it } from 'vitest';
import type { BridgeProcess, ExitStatus } from '../helpers/bridge-process.js';
import type { BridgeSupervisor } from './cluster.js';
import { FaultInjector, type PlannedFault } from './faults.js';

/** A fake store: its revision goes up when the fake deposed bridge "commits". */
function fakeClient(state: { revision: number }): Etcd3 {
  return {
    get: () => ({ exec: async () => ({ header: { revision: String(state.revision) } }) }),
    getAll: () => ({ prefix: () => ({ strings: async () => ({}) }) }), // its election key is gone
  } as unknown as Etcd3;
}

function fakeBridge(
  name: string,
): BridgeProcess & { exitAfterSigcont(ms: number, status: ExitStatus): void } {
  let exit: ExitStatus | undefined;
  let onExit: Array<() => void> = [];
  return {
    name,
    get hasExited() {
      return exit !== undefined;
    },
    exitAfterSigcont(ms: number, status: ExitStatus) {
      setTimeout(() => {
        exit = status;
        for (const f of onExit) f();
        onExit = [];
      }, ms);
    },
    waitForExit(timeoutMs: number) {
      if (exit) return Promise.resolve(exit);
      return new Promise<ExitStatus | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), timeoutMs);
        onExit.push(() => {
          clearTimeout(timer);
          resolve(exit);
        });
      });
    },
  } as unknown as BridgeProcess & { exitAfterSigcont(ms: number, status: ExitStatus): void };
}

describe('sigstop fencing window', () => {
  it('reports a deposed bridge that is still running when its window closes', async () => {
    const store = { revision: 100 };
    const deposed = fakeBridge('bridge A1');
    const successor = fakeBridge('bridge B1');
    const supervisor = {
      waitForLeader: async (_ms: number, exclude?: BridgeProcess) => (exclude ? successor : deposed),
      bridgeId: () => 'a1',
      hold: () => () => undefined,
      freeze: () => undefined,
      thaw: (bridge: BridgeProcess) => {
        if (bridge !== deposed) return;
        // After SIGCONT the deposed bridge commits at 2 s (the others run again by then) and exits 3 at 2.5 s.
        setTimeout(() => {
          store.revision++;
        }, 2_000);
        deposed.exitAfterSigcont(2_500, { code: 3, signal: null });
      },
      alive: () => [deposed, successor].filter((b) => !b.hasExited),
      wasHung: () => false,
      kill: async () => undefined,
    } as unknown as BridgeSupervisor;
    const plan: PlannedFault = { kind: 'sigstop', gapMs: 0, durationMs: 0, pick: 0 };
    const injector = new FaultInjector(
      {
        etcd: [],
        client: fakeClient(store),
        proxies: [],
        supervisor,
        group: 'soak',
        leaseTtlSeconds: 1,
        startedAt: Date.now(),
        log: () => undefined,
      },
      [plan][Symbol.iterator](),
    );

    await injector.run(Date.now() + 60_000);

    const window = injector.windows[0]!;
    // The deposed bridge's write (revision 101) fell after its window, when the new leader ran too...
    expect(store.revision).toBe(101);
    expect(window.toRevision).toBeLessThan(101);
    // ...so it must at least be reported.
    expect(injector.problems).toEqual([expect.stringMatching(/did not exit within its fencing window/)]);
  }, 20_000);
});
