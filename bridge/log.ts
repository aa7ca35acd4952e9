/**
 * The bridge's structured logs: JSON lines through Powertools Logger (what CloudWatch and `jq`
 * want); on a terminal, one short readable line a record instead.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogAttributes } from '@aws-lambda-powertools/logger/types';
import { logLevelFromEnvironment } from './config.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface BridgeLogger {
  log(level: LogLevel, message: string, fields?: LogFields): void;
}

const LEVELS: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** `12:00:01.234 WARN  resync route=job-state reason=…` */
export function formatLine(level: LogLevel, message: string, fields: LogFields, now = new Date()): string {
  const rest = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${now.toISOString().slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${message}${rest ? ` ${rest}` : ''}`;
}

export function createLogger(
  options: { serviceName?: string; pretty?: boolean; level?: string } = {},
): BridgeLogger {
  const level = (options.level ?? logLevelFromEnvironment()).toLowerCase() as LogLevel;
  const threshold = LEVELS[level] ?? LEVELS.info;
  if (options.pretty ?? Boolean(process.stderr.isTTY)) {
    return {
      log: (lvl, message, fields = {}) => {
        if (LEVELS[lvl] >= threshold) process.stderr.write(`${formatLine(lvl, message, fields)}\n`);
      },
    };
  }
  const logger = new Logger({
    serviceName: options.serviceName ?? 'etcd-bridge',
    logLevel: level.toUpperCase() as 'INFO',
  });
  return { log: (lvl, message, fields = {}) => logger[lvl](message, fields as LogAttributes) };
}

/** A logger that drops everything (tests, and commands whose stdout is data). */
export const silentLogger: BridgeLogger = { log: () => {} };
