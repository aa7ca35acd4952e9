/**
 * CPU profiles for the bench: the inspector's Profiler around an in-process phase, and a summary
 * of any V8 .cpuprofile (also those `node --cpu-prof` writes): self time per function and per
 * component, as shares of the time the thread was busy.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';

export interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
    readonly columnNumber?: number;
  };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface SelfTimeRow {
  /** `name (file:line)`, the file relative to node_modules/, dist/ or node:. */
  readonly name: string;
  readonly component: string;
  readonly selfMs: number;
  /** Of the busy time (everything but "(idle)"). */
  readonly share: number;
}

export interface ProfileSummary {
  readonly wallMs: number;
  readonly busyMs: number;
  /** busy / wall: near 1 means the thread never waited. */
  readonly busyShare: number;
  readonly functions: SelfTimeRow[];
  readonly components: Array<{ component: string; selfMs: number; share: number }>;
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Where a function lives: a package, a part of this project, Node itself, or V8. */
export function componentOf(url: string, functionName: string): string {
  if (SPECIAL.has(functionName) && url === '') return functionName;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg?.[1]) return pkg[1];
  const own = /\/((?:bridge|shared|functions)\/[^/.]+)/.exec(url);
  if (own?.[1]) return own[1];
  if (url.startsWith('node:')) return 'node (internals)';
  if (url === '') return 'V8 builtins / native';
  return 'other';
}

function shortUrl(url: string): string {
  const i = url.lastIndexOf('node_modules/');
  if (i >= 0) return url.slice(i + 'node_modules/'.length);
  const d = url.lastIndexOf('/dist/');
  if (d >= 0) return url.slice(d + '/dist/'.length);
  return url.replace(/^file:\/\//, '');
}

export function summarizeProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0) {
    // timeDeltas[i] is the time before sample i; the time after the last one is unknown, so each
    // sample gets the delta that follows it (the usual reading, as Chrome DevTools does).
    for (let i = 0; i < samples.length; i++) {
      const id = samples[i]!;
      const us = deltas[i + 1] ?? deltas[i] ?? 0;
      selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, us));
    }
  } else {
    const total = profile.endTime - profile.startTime;
    const hits = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0) || 1;
    for (const node of profile.nodes) selfUs.set(node.id, ((node.hitCount ?? 0) / hits) * total);
  }

  const rows = new Map<string, { name: string; component: string; us: number }>();
  const components = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    busyUs += us;
    const component = componentOf(url, functionName);
    components.set(component, (components.get(component) ?? 0) + us);
    const name =
      url === ''
        ? functionName || '(anonymous)'
        : `${functionName || '(anonymous)'} (${shortUrl(url)}:${lineNumber + 1})`;
    const row = rows.get(name) ?? { name, component, us: 0 };
    row.us += us;
    rows.set(name, row);
  }
  const wallUs = Math.max(1, profile.endTime - profile.startTime);
  const share = (us: number) => (busyUs > 0 ? us / busyUs : 0);
  return {
    wallMs: wallUs / 1000,
    busyMs: busyUs / 1000,
    busyShare: busyUs / wallUs,
    functions: [...rows.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((row) => ({
        name: row.name,
        component: row.component,
        selfMs: row.us / 1000,
        share: share(row.us),
      })),
    components: [...components.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([component, us]) => ({ component, selfMs: us / 1000, share: share(us) })),
  };
}

export function formatProfileSummary(title: string, summary: ProfileSummary, components = 12): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(6);
  const lines = [
    `${title}: ${summary.wallMs.toFixed(0)} ms wall, main thread busy ${pct(summary.busyShare).trim()} of it`,
    '  self time by component:',
    ...summary.components
      .slice(0, components)
      .map((c) => `    ${pct(c.share)}  ${c.selfMs.toFixed(0).padStart(7)} ms  ${c.component}`),
    '  top functions by self time:',
    ...summary.functions.map(
      (f) => `    ${pct(f.share)}  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.name}  [${f.component}]`,
    ),
  ];
  return lines.join('\n');
}

/** Profiles this process's main thread until the returned function is called. */
export async function startInProcessProfile(samplingIntervalUs = 200): Promise<() => Promise<CpuProfile>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    return profile as unknown as CpuProfile;
  };
}

export async function saveProfile(path: string, profile: CpuProfile): Promise<void> {
  await writeFile(path, JSON.stringify(profile));
}
