/**
 * A port someone else holds is a mistake in the command line, not a crash: exit 2 with the port
 * and the flag that moves it, instead of an uncaught EADDRINUSE stack trace.
 */
import { CliFailure } from './usage.js';

export interface PortSetting {
  readonly port: number;
  readonly host: string;
  /** The flag that sets it: `--metrics-port`. */
  readonly flag: string;
  /** What else the flag can do: `0 turns it off`. */
  readonly off?: string;
}

export function isAddressInUse(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'EADDRINUSE';
}

export function portInUse(setting: PortSetting, cause?: unknown): CliFailure {
  return new CliFailure(
    `${setting.host}:${setting.port} is already in use (another bridge or program listens there); choose another port with ${setting.flag} N${setting.off ? ` (${setting.off})` : ''}`,
    2,
    { cause },
  );
}

export async function listenOrExplain<T>(listen: () => Promise<T>, setting: PortSetting): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    if (isAddressInUse(error)) throw portInUse(setting, error);
    throw error;
  }
}
