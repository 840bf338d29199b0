import type * as Http from 'node:http'
import type * as Https from 'node:https'

import {createRequire} from 'node:module'

/**
 * node:http and node:https, loaded as CommonJS. An ESM `import` of a built-in makes Node read every
 * export to build the module's ESM face, getters included, and on Node 22 and later `http.WebSocket`
 * is a getter that loads Node's bundled undici (fetch). On Node 22 undici's HTTP/1 client compiles its
 * parser with WebAssembly as it loads: in a process without WebAssembly (`node --jitless`, the smaller
 * pod of docs/MEMORY.md) that promise rejects unhandled and kills pbm at start-up. pbm never uses fetch;
 * `require` reads no getter, so undici is never loaded. ESLint sends every other import here.
 */
const require = createRequire(import.meta.url)

export const http = require('node:http') as typeof Http
export const https = require('node:https') as typeof Https
