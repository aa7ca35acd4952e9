/**
 * `node:http`'s createServer, loaded with `require`. An ESM import of `node:http` makes Node 22 and
 * later copy each of its exports into the module namespace, which runs the lazy getters of
 * `WebSocket`, `CloseEvent` and `MessageEvent` and so loads Node's bundled undici: ~14 MB more RSS
 * on Node 24 for code the bridge never runs (nodejs/node#57649; `require` leaves the getters
 * alone). Import the types from `node:http` with `import type` as usual.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const http = require('node:http') as typeof import('node:http');

export const createServer: typeof http.createServer = http.createServer;
