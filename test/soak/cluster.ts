/**
 * The soak's bridges: N `etcd-bridge start` child processes of one group, reaching etcd through the
 * TCP proxy, kept running the way a supervisor (ECS, systemd) would: whichever exits is started
 * again after a short delay. Tracks who leads (from the "elected leader" log line) and why each
 * process ended.
 */
import { BridgeProcess, type ExitStatus } from '../helpers/bridge-process.js';
import { sleep } from './writer.js';

export interface BridgeExit {
  name: string;
  status: ExitStatus;
  /** Killed by the fault injector (SIGKILL) or by the soak's end (SIGTERM). */
  injected: boolean;
  /** ms since the soak started. */
  atMs: number;
  /** The fault running or last run when it exited, e.g. "#12 cut-blackhole". */
  fault: string | undefined;
  /** Ended by the soak's final stop (SIGTERM). */
  atEnd: boolean;
  /** For the final stop: ms from SIGTERM to exit. */
  stopMs?: number;
  /** Killed by the health-check stand-in: it had failed ("bridge stops", "bridge failed to start") and still ran 15 s later. */
  hung: boolean;
  /** The last error the process logged (for exits the soak did not cause). */
  reason?: string;
  /** The process's last lines, kept for exits the soak did not cause, other than exit 3. */
  tail?: string;
}

interface Slot {
  readonly index: number;
  bridge: BridgeProcess | undefined;
  generation: number;
}

export interface SupervisorOptions {
  /** etcd endpoint the bridges use (the proxy). */
  etcd: string;
  group: string;
  count: number;
  config: Record<string, unknown>;
  startedAt: number;
  /** The fault now running or last run, for exit records. */
  currentFault(): string | undefined;
  log(line: string): void;
}

const DEFAULT_RESPAWN_MS = 500;
const MAX_TAILS = 10;
/**
 * A bridge that has failed (leadership lost, or its campaign failed) is meant to exit at once. One
 * that logged "bridge stops" or "bridge failed to start" and still runs after this long is
 * SIGKILLed, as the container health check would have it replaced in ECS (`/healthz` answers 503
 * once the bridge has failed, and nothing once it has closed its server); the exit counts as hung.
 */
export const HUNG_AFTER_MS = 15_000;

export class BridgeSupervisor {
  readonly exits: BridgeExit[] = [];
  /** Elections won (one per "elected leader" line). */
  elections = 0;
  spawned = 0;
  private readonly slots: Slot[];
  private readonly electedAt = new Map<BridgeProcess, { at: number; bridgeId: string }>();
  private readonly injected = new Set<BridgeProcess>();
  private readonly respawnDelay = new Map<BridgeProcess, number>();
  private readonly hung = new Set<BridgeProcess>();
  /** Processes that have logged a failure: no longer leaders, whatever their election said. */
  private readonly failed = new Set<BridgeProcess>();
  private readonly frozen = new Set<BridgeProcess>();
  private readonly thawedAt = new Map<BridgeProcess, number>();
  private stopping = false;
  private held = 0;
  private tails = 0;

  constructor(private readonly options: SupervisorOptions) {
    this.slots = Array.from({ length: options.count }, (_, index) => ({
      index,
      bridge: undefined,
      generation: 0,
    }));
  }

  start(): void {
    for (const slot of this.slots) this.spawn(slot);
  }

  /** Running processes (including frozen ones). */
  alive(): BridgeProcess[] {
    return this.slots.flatMap((slot) => (slot.bridge && !slot.bridge.hasExited ? [slot.bridge] : []));
  }

  /** The running process elected most recently that has not failed since, if any. */
  leader(exclude?: BridgeProcess): BridgeProcess | undefined {
    let best: BridgeProcess | undefined;
    let bestAt = -1;
    for (const bridge of this.alive()) {
      const elected = this.electedAt.get(bridge);
      if (bridge !== exclude && !this.failed.has(bridge) && elected && elected.at > bestAt) {
        best = bridge;
        bestAt = elected.at;
      }
    }
    return best;
  }

  /** Whether the health-check stand-in killed it. */
  wasHung(bridge: BridgeProcess): boolean {
    return this.hung.has(bridge);
  }

  /** The bridge id a process was elected with (the value of its election key). */
  bridgeId(bridge: BridgeProcess): string | undefined {
    return this.electedAt.get(bridge)?.bridgeId;
  }

  async waitForLeader(timeoutMs: number, exclude?: BridgeProcess): Promise<BridgeProcess | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = this.leader(exclude);
      if (leader || Date.now() > deadline) return leader;
      await sleep(20);
    }
  }

  /** SIGKILL, as the fault injector does; the supervisor starts it again after `respawnMs`. */
  async kill(bridge: BridgeProcess, respawnMs: number): Promise<void> {
    this.injected.add(bridge);
    this.respawnDelay.set(bridge, respawnMs);
    await bridge.kill('SIGKILL');
  }

  /** SIGSTOP; the health-check stand-in does not count the time a process spends frozen. */
  freeze(bridge: BridgeProcess): void {
    this.frozen.add(bridge);
    bridge.signal('SIGSTOP');
  }

  thaw(bridge: BridgeProcess): void {
    if (!this.frozen.delete(bridge)) return;
    this.thawedAt.set(bridge, Date.now());
    bridge.signal('SIGCONT');
  }

  /** While held, exited processes are not started again (a fencing window must have no newcomer). */
  hold(): () => void {
    this.held++;
    let released = false;
    return () => {
      if (!released) this.held--;
      released = true;
    };
  }

  /** Stops starting processes; SIGTERMs every one (they drain and exit 0; SIGKILL after `graceMs`). */
  async stopAll(graceMs: number): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.alive().map(async (bridge) => {
        this.injected.add(bridge);
        bridge.signal('SIGCONT');
        const started = Date.now();
        const status = await bridge.stop(graceMs);
        const tookMs = Date.now() - started;
        const exit = this.exits.find((e) => e.name === bridge.name);
        if (exit) exit.stopMs = tookMs;
        if (status.code !== 0 || tookMs > 3_000) {
          this.options.log(`${bridge.name} stopped: ${JSON.stringify(status)} after ${tookMs} ms`);
          if (exit) exit.tail ??= bridge.output(40);
        }
      }),
    );
  }

  private spawn(slot: Slot): void {
    slot.generation++;
    this.spawned++;
    const bridge = BridgeProcess.spawn({
      etcd: this.options.etcd,
      group: this.options.group,
      startPosition: 'earliest',
      config: this.options.config,
      name: `bridge ${String.fromCharCode(65 + slot.index)}${slot.generation}`,
    });
    slot.bridge = bridge;
    bridge
      .waitForLeader(24 * 3_600_000)
      .then((line) => {
        this.elections++;
        const bridgeId = /"bridgeId":"([^"]*)"/.exec(line)?.[1] ?? '';
        this.electedAt.set(bridge, { at: Date.now(), bridgeId });
        this.options.log(`${bridge.name} elected leader`);
      })
      .catch(() => undefined);
    // The health-check stand-in: HUNG_AFTER_MS of running (not frozen by the soak) after a failure.
    bridge
      .waitForLine(/"message":"bridge (stops|failed to start)"/, 24 * 3_600_000)
      .then((line) => {
        this.failed.add(bridge);
        const failedAt = Date.now();
        const check = (): void => {
          if (bridge.hasExited || this.stopping) return;
          const since = Math.max(failedAt, this.thawedAt.get(bridge) ?? 0);
          const left = since + HUNG_AFTER_MS - Date.now();
          if (this.frozen.has(bridge) || left > 0) {
            setTimeout(check, this.frozen.has(bridge) ? 500 : left).unref();
            return;
          }
          this.hung.add(bridge);
          this.options.log(
            `${bridge.name} logged "${/"message":"([^"]*)"/.exec(line)?.[1]}" and still runs ${HUNG_AFTER_MS} ms later: SIGKILL`,
          );
          bridge.signal('SIGCONT');
          bridge.signal('SIGKILL');
        };
        check();
      })
      .catch(() => undefined);
    void bridge.exited.then(async (status) => {
      const injected = this.injected.has(bridge);
      const hung = this.hung.has(bridge);
      const expected = (injected && !hung) || status.code === 3;
      const exit: BridgeExit = {
        name: bridge.name,
        status,
        injected,
        hung,
        atEnd: this.stopping,
        atMs: Date.now() - this.options.startedAt,
        fault: this.options.currentFault(),
      };
      if (!injected || hung) {
        const lastError = bridge.linesMatching(/"level":"ERROR"/).at(-1);
        if (lastError) {
          const message = /"message":"((?:[^"\\]|\\.)*)"/.exec(lastError)?.[1];
          const error = /"error":"((?:[^"\\]|\\.)*)"/.exec(lastError)?.[1];
          exit.reason = [message, error].filter(Boolean).join(': ');
        }
      }
      if (!expected && this.tails < MAX_TAILS) {
        this.tails++;
        exit.tail = bridge.output(80);
      }
      this.exits.push(exit);
      this.electedAt.delete(bridge);
      if (!this.stopping && (!injected || hung))
        this.options.log(
          `${bridge.name} exited ${JSON.stringify(status)}${exit.reason ? ` (${exit.reason})` : ''}${hung ? ' hung' : ''}`,
        );
      if (this.stopping) return;
      await sleep(this.respawnDelay.get(bridge) ?? DEFAULT_RESPAWN_MS);
      while (this.held > 0 && !this.stopping) await sleep(50);
      if (!this.stopping && slot.bridge === bridge) this.spawn(slot);
    });
  }
}
