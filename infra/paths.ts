import { fileURLToPath } from 'node:url';

/** Absolute path of the repository root (the Docker build context and NodejsFunction project root). */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Absolute path of a stage function's handler entry file, `functions/<stage>/index.ts`. */
export function stageEntry(stageName: string): string {
  return fileURLToPath(new URL(`../functions/${stageName}/index.ts`, import.meta.url));
}
