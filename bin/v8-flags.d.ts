/** Types of bin/v8-flags.js, for the tests that check the bridge's heap settings. */
export declare const BRIDGE_V8_FLAGS: Readonly<
  Record<'--max-semi-space-size' | '--max-old-space-size', string>
>;
export declare const LONG_RUNNING_COMMANDS: readonly string[];
export declare function missingV8Flags(execArgv: readonly string[], nodeOptions?: string): string[];
export declare function bridgeNodeOptions(): string;
export declare const BRIDGE_ENV: Readonly<Record<'MALLOC_ARENA_MAX', string>>;
export declare function bridgeEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
export declare function missingBridgeEnv(env: NodeJS.ProcessEnv): string[];
export declare const BRIDGE_BUFFER_POOL_SIZE: number;
export declare function applyBufferPoolSize(buffer?: { poolSize: number }): void;
