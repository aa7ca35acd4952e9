/**
 * Where Node 24 and aws-lambda-ric live (tools/runtime, beside the project, never in its own
 * node_modules), installed (or brought in line with tools/runtime's lock) by
 * scripts/install-runtime.mjs on first use.
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
  const script = join(root, 'scripts', 'install-runtime.mjs');
  // Without the script (an image pruned of it) the tools must simply be there.
  if (existsSync(script)) {
    const loaded: unknown = await import(pathToFileURL(script).href);
    const { installRuntime } = InstallScriptSchema.parse(loaded);
    // A no-op when the installed tree matches tools/runtime's lock (its stamp); else it installs,
    // with its progress line.
    if (installRuntime() !== 0) {
      throw new Error(
        '--runtime ric needs Node 24 and aws-lambda-ric in tools/runtime: the install failed (see above)',
      );
    }
  }
  if (!existsSync(tools.node) || !existsSync(tools.ric)) {
    throw new Error(`--runtime ric needs Node 24 and aws-lambda-ric: run node scripts/install-runtime.mjs`);
  }
  return tools;
}
