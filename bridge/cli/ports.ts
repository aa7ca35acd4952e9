/**
 * A port someone else holds, or a host that is not this machine's, is a mistake in the command line,
 * not a crash: exit 2 with the address and the flag that moves it, instead of an uncaught
 * EADDRINUSE or ENOTFOUND stack trace.
 */
import { CliFailure } from './usage.js';

export interface PortSetting {
  readonly port: number;
  readonly host: string;
  /** The flag that sets it: `--metrics-port`. */
  readonly flag: string;
  /** What else the flag can do: `0 turns it off`. */
  readonly off?: string;
  /** The flag that sets the host, if a flag does: `--host`. */
  readonly hostFlag?: string;
}

/** Listen errors that say the host is not an address of this machine (or not a name at all). */
const BAD_HOST = new Set(['EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME']);

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
    const code = (error as { code?: unknown } | null)?.code;
    if (setting.hostFlag && typeof code === 'string' && BAD_HOST.has(code))
      throw new CliFailure(
        `cannot listen on ${setting.host} (${code}): not an address or name of this machine; choose another with ${setting.hostFlag}`,
        2,
        { cause: error },
      );
    throw error;
  }
}
