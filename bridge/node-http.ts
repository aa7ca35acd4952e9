/**
 * `node:http`'s createServer and request, loaded with `require`. An ESM import of `node:http` makes
 * Node 22 and later copy each of its exports into the module namespace, which runs the lazy getters
 * of `WebSocket`, `CloseEvent` and `MessageEvent` and so loads Node's bundled undici, code the
 * bridge never runs (nodejs/node#57649; `require` leaves the getters alone): 14 MB of RSS in a bare
 * Node 24 process, ~2 MB in an idle `etcd-bridge start` (89.6-90.9 against 92.1-92.8 MB), nothing
 * measurable at a drain's peak. Import the types from `node:http` with `import type` as usual.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const http = require('node:http') as typeof import('node:http');

export const createServer: typeof http.createServer = http.createServer;
export const request: typeof http.request = http.request;
