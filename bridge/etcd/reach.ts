/**
 * The bridge's first call to etcd, before it campaigns: it fails at once, clearly, on what a setting
 * is at fault for (a password etcd refuses, a CA or certificate the TLS handshake refuses, TLS on
 * one side only), and waits out what may pass by itself (every member restarting, the network to
 * them reset for a moment, no raft leader yet), with the bridge's one backoff, for at most
 * `withinMs`. A supervisor restarting a bridge that exited 1 for a blip would only do the same,
 * less quietly.
 */
import { BACKOFF, Backoff, sleep } from '../failure/backoff.js';
import { classify } from '../failure/classify.js';
import { settingAtFault } from './tls-diagnosis.js';
import type { EtcdConnectionConfig } from './tls-material.js';

export interface ReachOptions {
  log?(level: 'warn', message: string, fields: Record<string, unknown>): void;
  /** How long to wait for etcd before giving up; default 60 s. */
  withinMs?: number;
  signal?: AbortSignal;
}

export async function reachEtcd(
  config: EtcdConnectionConfig,
  call: () => Promise<unknown>,
  options: ReachOptions = {},
): Promise<void> {
  const deadline = Date.now() + (options.withinMs ?? 60_000);
  const backoff = new Backoff(BACKOFF.reach);
  for (let attempt = 1; ; attempt++) {
    try {
      await call();
      return;
    } catch (error) {
      const { verdict, reason } = classify(error);
      if (verdict !== 'retry' || options.signal?.aborted) throw error;
      // gRPC reports a refused TLS handshake as UNAVAILABLE too: only wait when no setting is at fault.
      if ((await settingAtFault(config)) !== undefined) throw error;
      const delayMs = backoff.next();
      if (Date.now() + delayMs > deadline) throw error;
      options.log?.('warn', 'etcd not reachable yet; trying again', {
        attempt,
        reason,
        delayMs,
        error: error instanceof Error ? error.message : String(error),
      });
      await sleep(delayMs, options.signal);
    }
  }
}
