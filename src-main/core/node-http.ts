// node:http, loaded through require() on purpose. An ESM `import http from 'node:http'` makes
// Node 24 build the module's whole export list, which runs its lazy getters (WebSocket,
// MessageEvent, …) and so loads Node's bundled undici and the web streams: about 70 more internal
// modules and, measured with `npm run bench`'s footprint node, several MB of resident memory that a
// node which never uses them keeps for its whole life. require() leaves those getters alone.
import { createRequire } from 'node:module';
import type * as Http from 'node:http';

export const http: typeof Http = createRequire(import.meta.url)('node:http');
