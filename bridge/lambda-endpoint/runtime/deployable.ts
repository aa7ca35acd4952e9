/**
 * The stage functions as `cdk synth` deploys them: the real CDK CLI synthesizes the app (cdk.json,
 * its context and feature flags, NodejsFunction's local esbuild bundling) into a cloud assembly, and
 * each function is read back from the template: its bundle folder, Handler, MemorySize, Timeout,
 * Environment and logging config. No second bundling definition exists, so the local runtime and
 * the deployment cannot drift apart.
 *
 * The assembly is cached under .data/lambda-bundles/<hash of the inputs> (functions/, shared/,
 * infra/, the lock file, cdk.json): built on first use, rebuilt when a source changes.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { errorMessage } from '../../errors.js';
import { packageRoot } from '../../paths.js';
import { STAGE_NAMES } from '../../stages.js';

/** One function of a synthesized template, as an execution environment needs it. */
export interface DeployableFunction {
  /** The name the endpoint serves it under: the stage name (its POWERTOOLS_SERVICE_NAME). */
  readonly name: string;
  /** The bundle folder (LAMBDA_TASK_ROOT). */
  readonly taskRoot: string;
  /** `_HANDLER`, e.g. `index.handler`. */
  readonly handler: string;
  readonly runtime: string;
  readonly memoryMiB: number;
  readonly timeoutSeconds: number;
  /** The template's own Environment block. */
  readonly environment: Readonly<Record<string, string>>;
  /** LoggingConfig.LogFormat: `Text` unless the template says `JSON`. */
  readonly logFormat: 'Text' | 'JSON';
  readonly reservedConcurrency: number | undefined;
}

/** The parts of an AWS::Lambda::Function resource read here; everything else passes through. */
const LambdaFunctionSchema = z.object({
  Type: z.literal('AWS::Lambda::Function'),
  Properties: z.object({
    Handler: z.string().min(1),
    Runtime: z.string().min(1),
    MemorySize: z.number().int().min(128).max(10_240).default(128),
    Timeout: z.number().int().min(1).max(900).default(3),
    Environment: z.object({ Variables: z.record(z.string(), z.string()).default({}) }).optional(),
    LoggingConfig: z.object({ LogFormat: z.enum(['Text', 'JSON']).optional() }).optional(),
    ReservedConcurrentExecutions: z.number().int().min(0).optional(),
  }),
  Metadata: z.object({ 'aws:asset:path': z.string().min(1) }),
});

const TemplateSchema = z.object({ Resources: z.record(z.string(), z.unknown()) });

/** The inputs of the synthesized bundles: a change to any of them means a new build. */
const INPUT_DIRS = ['functions', 'shared', 'infra'];
const INPUT_FILES = ['package-lock.json', 'cdk.json', 'tsconfig.json'];

export interface DeployableOptions {
  /** A cloud assembly to read instead of building one (e.g. the `cdk.out` of a CI synth). */
  readonly cloudAssembly?: string;
  /** Progress lines (the synth takes ~15 s); default: stderr. */
  readonly progress?: (line: string) => void;
}

/** The stage functions of the synthesized app, building the assembly when it is missing. */
export async function deployableStageFunctions(
  options: DeployableOptions = {},
): Promise<DeployableFunction[]> {
  const assembly = options.cloudAssembly
    ? resolve(options.cloudAssembly)
    : await ensureAssembly(options.progress ?? ((line) => process.stderr.write(`${line}\n`)));
  const functions = await readAssembly(assembly);
  const missing = STAGE_NAMES.filter((name) => !functions.some((fn) => fn.name === name));
  if (missing.length > 0) {
    throw new Error(`the cloud assembly ${assembly} has no function for ${missing.join(', ')}`);
  }
  return functions;
}

/** Every AWS::Lambda::Function of every template in the assembly that names its stage. */
export async function readAssembly(dir: string): Promise<DeployableFunction[]> {
  const templates = (await readdir(dir)).filter((f) => f.endsWith('.template.json'));
  const found: DeployableFunction[] = [];
  for (const file of templates) {
    const template = TemplateSchema.parse(JSON.parse(await readFile(join(dir, file), 'utf8')));
    for (const resource of Object.values(template.Resources)) {
      const parsed = LambdaFunctionSchema.safeParse(resource);
      if (!parsed.success) continue; // not a function, or one without a local asset (e.g. inline code)
      const { Properties: p, Metadata: m } = parsed.data;
      const environment = p.Environment?.Variables ?? {};
      const name = environment.POWERTOOLS_SERVICE_NAME;
      if (name === undefined) continue; // CDK's own helper functions (custom resources) have none
      const taskRoot = resolve(dir, m['aws:asset:path']);
      // The asset path comes from a file: it must stay inside the assembly.
      if (relative(dir, taskRoot).startsWith('..'))
        throw new Error(`${file}: asset path leaves the assembly`);
      found.push({
        name,
        taskRoot,
        handler: p.Handler,
        runtime: p.Runtime,
        memoryMiB: p.MemorySize,
        timeoutSeconds: p.Timeout,
        environment,
        logFormat: p.LoggingConfig?.LogFormat ?? 'Text',
        reservedConcurrency: p.ReservedConcurrentExecutions,
      });
    }
  }
  return found;
}

/** The cached assembly for the current sources, synthesized by `cdk synth` when it is missing. */
export async function ensureAssembly(progress: (line: string) => void): Promise<string> {
  const root = packageRoot();
  const hash = await inputsHash(root);
  const cacheRoot = join(root, '.data', 'lambda-bundles');
  const target = join(cacheRoot, hash);
  if (existsSync(join(target, 'manifest.json'))) return target;

  const cdk = join(root, 'node_modules', '.bin', 'cdk');
  if (!existsSync(cdk)) {
    throw new Error(
      '--runtime ric builds the stage functions with `cdk synth`, which needs the dev dependencies: run `npm ci`',
    );
  }
  await mkdir(cacheRoot, { recursive: true });
  // One builder at a time (test files run in parallel; two synths would only share the CPU): the
  // others wait for its assembly.
  if (!(await takeBuildLock(`${target}.lock`, () => existsSync(join(target, 'manifest.json')), progress))) {
    return target;
  }
  // Synthesized beside the target, then renamed: nobody ever sees half an assembly.
  const building = `${target}.building-${process.pid}-${Date.now()}`;
  progress(
    'lambda-endpoint: building the stage functions with `cdk synth` (about 15 s, once per source change) ...',
  );
  const started = Date.now();
  try {
    await run(cdk, ['synth', '--quiet', '--output', building], root);
    await rename(building, target).catch(async (error: NodeJS.ErrnoException) => {
      if (!existsSync(join(target, 'manifest.json'))) throw error;
    });
  } finally {
    await rm(building, { recursive: true, force: true });
    await rm(`${target}.lock`, { recursive: true, force: true });
  }
  progress(`lambda-endpoint: bundles ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${target})`);
  await pruneOldAssemblies(cacheRoot, target);
  return target;
}

/** A lock older than this is a builder that died. */
const STALE_LOCK_MS = 10 * 60_000;

/**
 * Takes the build lock (an atomic mkdir), or waits while another process holds it: false when
 * that process produced the assembly meanwhile.
 */
async function takeBuildLock(
  lock: string,
  built: () => boolean,
  progress: (line: string) => void,
): Promise<boolean> {
  let told = false;
  for (;;) {
    if (built()) return false;
    try {
      await mkdir(lock);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const since = await stat(lock).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (since > STALE_LOCK_MS) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (!told) progress('lambda-endpoint: waiting for another process building the same bundles ...');
    told = true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Builds kept besides the newest: a process still running an older one keeps its bundles. */
const KEPT_ASSEMBLIES = 3;

async function pruneOldAssemblies(cacheRoot: string, newest: string): Promise<void> {
  const entries = await readdir(cacheRoot, { withFileTypes: true });
  const built = await Promise.all(
    entries
      .filter((e) => e.isDirectory() && /^[0-9a-f]{16}$/.test(e.name) && join(cacheRoot, e.name) !== newest)
      .map(async (e) => ({
        path: join(cacheRoot, e.name),
        mtimeMs: (await stat(join(cacheRoot, e.name))).mtimeMs,
      })),
  );
  built.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const old of built.slice(KEPT_ASSEMBLIES)) await rm(old.path, { recursive: true, force: true });
}

/** sha256 over the paths and contents of every input file, sorted. */
export async function inputsHash(root: string): Promise<string> {
  const files: string[] = [...INPUT_FILES.filter((f) => existsSync(join(root, f)))];
  for (const dir of INPUT_DIRS) {
    if (!existsSync(join(root, dir))) continue;
    for (const entry of await readdir(join(root, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) files.push(relative(root, join(entry.parentPath, entry.name)));
    }
  }
  const hash = createHash('sha256');
  for (const file of files.sort()) {
    hash.update(`${file}\0`);
    hash.update(await readFile(join(root, file)));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-8000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (error) => reject(new Error(`cdk synth could not start: ${errorMessage(error)}`)));
    child.on('close', (code) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`cdk synth failed (exit ${code}):\n${output}`));
    });
  });
}
