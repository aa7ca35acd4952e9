/**
 * Where Node 24 and aws-lambda-ric live (tools/runtime, beside the project, never in its own
 * node_modules), installing them with scripts/install-runtime.mjs on first use.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { packageRoot } from '../../paths.js';

export interface RuntimeTools {
  /** The Node 24 binary (the Node of Lambda's nodejs24.x). */
  readonly node: string;
  /** aws-lambda-ric's entry, which the Node.js managed runtime runs as its bootstrap. */
  readonly ric: string;
}

export function runtimeToolPaths(root = packageRoot()): RuntimeTools {
  const modules = join(root, 'tools', 'runtime', 'node_modules');
  return { node: join(modules, '.bin', 'node'), ric: join(modules, 'aws-lambda-ric', 'index.mjs') };
}

const InstallScriptSchema = z.object({
  installRuntime: z.custom<(options?: { quiet?: boolean }) => number>((v) => typeof v === 'function'),
});

/**
 * The tools, installed first if they are missing (the script prints its own progress line and, when
 * the native build cannot run, the missing tool and the apt command).
 */
export async function ensureRuntimeTools(root = packageRoot()): Promise<RuntimeTools> {
  const tools = runtimeToolPaths(root);
  if (existsSync(tools.node) && existsSync(tools.ric)) return tools;
  const script = join(root, 'scripts', 'install-runtime.mjs');
  const loaded: unknown = await import(pathToFileURL(script).href);
  const { installRuntime } = InstallScriptSchema.parse(loaded);
  const code = installRuntime();
  if (code !== 0 || !existsSync(tools.node) || !existsSync(tools.ric)) {
    throw new Error(
      '--runtime ric needs Node 24 and aws-lambda-ric in tools/runtime: the install failed (see above)',
    );
  }
  return tools;
}
