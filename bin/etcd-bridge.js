#!/usr/bin/env node
// The CLI entry point. The TypeScript sources are compiled to dist/ by `npm ci` (the `prepare` script).
import { main } from '../dist/bridge/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
