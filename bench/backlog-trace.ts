// Exploration harness: measureBacklog's setup, the child's stdout to a file.
import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import { EmbeddedEtcd } from '../bridge/etcd/embedded-etcd.js';
import { headRevision } from '../bridge/etcd/head.js';
import { StateWatch } from './state-watch.js';
import { makeWorkload, writeConfigs, writeInputs } from './workload.js';

const events = Number(process.env.EVENTS ?? 100000);
const flags = (process.env.FLAGS ?? '').split(/\s+/).filter(Boolean);
const outFile = process.env.OUT ?? '/tmp/rss/trace.out';
const etcd = await EmbeddedEtcd.start({
  extraArgs: (process.env.ETCD_ARGS ?? '').split(/\s+/).filter(Boolean),
});
const client = new Etcd3({ hosts: etcd.clientUrl });
const workload = makeWorkload('backlog', 1000, 1);
await writeConfigs(client, workload);
const from = (await headRevision(client)) + 1n;
await writeInputs(client, workload, 0, events, { parallel: 64 });
const watch = await StateWatch.start(client, workload, from);
const fd = openSync(outFile, 'w');
const started = performance.now();
const child = spawn(
  process.execPath,
  [
    ...flags,
    '/work/main/bin/etcd-bridge.js',
    'start',
    '--etcd',
    etcd.clientUrl,
    '--group',
    'bench',
    '--metrics-port',
    '0',
    '--start-position',
    from.toString(),
  ],
  {
    stdio: ['ignore', fd, fd],
    env: { ...process.env, LOG_LEVEL: 'warn', MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' },
  },
);
let peak = 0;
const t = setInterval(() => {
  try {
    const s = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(s)![1]));
  } catch {}
}, 50);
await watch.waitForCount(events, { stallMs: 60000 });
const ms = watch.lastSeenAt - started;
try {
  const s = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(s)![1]));
} catch {}
clearInterval(t);
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
console.log(
  `peak ${((peak * 1024) / 1e6).toFixed(1)} MB, ${((events / ms) * 1000).toFixed(0)} events/s, flags ${flags.join(' ')}`,
);
watch.close();
client.close();
await etcd.stop();
