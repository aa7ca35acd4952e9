// A diagnostic preload for a bridge child (`node --import ./bench/rss-probe.mjs bin/etcd-bridge.js
// start …`, see bench/backlog-trace.ts): every 100 ms it reads VmRSS; at each new peak it keeps V8's
// and Node's counters and /proc/self/smaps grouped by what the mappings are (the node binary,
// glibc's main arena `[heap]`, its other arenas: anonymous 64 MB-aligned, and the rest: V8's
// 256 KB heap pages, mmapped malloc chunks, thread stacks). At exit it writes them as JSON to
// $RSS_PROBE_OUT and that peak's raw smaps beside it. Reading smaps costs the child a few MB.
// BUFFER_POOL_SIZE sets Buffer.poolSize first, to compare pool sizes. RSS_PROBE_SERIES=<file> also
// appends a line a second: seconds, VmRSS, RssAnon, RssFile, the main arena's RSS, V8's physical
// heap, heapUsed, arrayBuffers (MB): what falls back after a high-water mark and what does not.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';

if (process.env.BUFFER_POOL_SIZE) Buffer.poolSize = Number(process.env.BUFFER_POOL_SIZE);
const out = process.env.RSS_PROBE_OUT ?? `rss-probe-${process.pid}.json`;
const started = Date.now();
let peak;
let peakSmaps = '';
const max = {};

function mappingKind(start, sizeKb, path) {
  if (path.endsWith('/node')) return 'node binary';
  if (path === '[heap]') return 'malloc main arena ([heap])';
  if (path.startsWith('[stack')) return 'main stack';
  if (path) return 'other files';
  if (sizeKb === 65536 || (sizeKb < 65536 && start % (64 * 1024 * 1024) === 0)) return 'malloc arenas';
  return 'other anonymous (V8 pages, mmapped chunks, stacks)';
}

function groups(text) {
  const byKind = {};
  let current;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const start = Number.parseInt(head[1], 16);
      const kind = mappingKind(start, (Number.parseInt(head[2], 16) - start) / 1024, head[3]);
      current = byKind[kind] ??= { rssKb: 0, mappings: 0 };
      current.mappings++;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && current) current.rssKb += Number(rss[1]);
  }
  return byKind;
}

function seriesLine() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const mb = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1000;
  const usage = process.memoryUsage();
  const fields = [
    (Date.now() - started) / 1000,
    mb('VmRSS'),
    mb('RssAnon'),
    mb('RssFile'),
    (groups(readFileSync('/proc/self/smaps', 'utf8'))['malloc main arena ([heap])']?.rssKb ?? 0) / 1000,
    v8.getHeapStatistics().total_physical_size / 1e6,
    usage.heapUsed / 1e6,
    usage.arrayBuffers / 1e6,
  ];
  appendFileSync(process.env.RSS_PROBE_SERIES, `${fields.map((f) => f.toFixed(1)).join(' ')}\n`);
}

function sample() {
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
  const usage = process.memoryUsage();
  for (const name of ['heapTotal', 'external', 'arrayBuffers'])
    max[name] = Math.max(max[name] ?? 0, usage[name] / 1e6);
  if (peak && rssKb <= peak.rssKb + 256) return;
  const heap = v8.getHeapStatistics();
  peakSmaps = readFileSync('/proc/self/smaps', 'utf8');
  const spaces = {};
  for (const space of v8.getHeapSpaceStatistics())
    if (space.physical_space_size) spaces[space.space_name] = +(space.physical_space_size / 1e6).toFixed(1);
  peak = {
    t: Date.now() - started,
    rssKb,
    groups: groups(peakSmaps),
    heapPhysical: heap.total_physical_size / 1e6,
    heapTotal: usage.heapTotal / 1e6,
    heapUsed: usage.heapUsed / 1e6,
    malloced: heap.malloced_memory / 1e6,
    external: usage.external / 1e6,
    arrayBuffers: usage.arrayBuffers / 1e6,
    spaces,
  };
}

// Only in the bridge itself (the bin re-executes into it with the same --import).
if (process.argv.includes('start')) {
  setInterval(sample, 100).unref();
  if (process.env.RSS_PROBE_SERIES) setInterval(seriesLine, 1000).unref();
  process.on('exit', () => {
    writeFileSync(`${out}.smaps`, peakSmaps);
    writeFileSync(
      out,
      JSON.stringify({ node: process.version, execArgv: process.execArgv, peak, max }, null, 1),
    );
  });
}
