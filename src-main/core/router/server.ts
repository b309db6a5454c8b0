import http from 'node:http';
import { ApiError } from '../../../src-shared/errors.js';
import type { ManagerApi } from '../../../src-shared/contract.js';
import type { ModelRegistry } from '../models/registry.js';
import { createManagementApp } from './management.js';
import { createOpenAIHandler, isOpenAIPath, sendError } from './openai.js';

export interface RouterOptions {
  api: ManagerApi;
  registry: ModelRegistry;
  bodyLimitBytes: () => number;
}

/** One HTTP server: /v1 goes straight to the proxy (hot path), everything else to express. */
export function createRouterServer(options: RouterOptions): http.Server {
  const openai = createOpenAIHandler({ registry: options.registry, bodyLimitBytes: options.bodyLimitBytes });
  const management = createManagementApp(options.api, options.registry);
  const server = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    if (isOpenAIPath(pathname)) return openai(req, res, pathname);
    if (pathname.startsWith('/api/') || pathname === '/api') return management(req, res);
    sendError(res, new ApiError(404, 'unknown_url', `unknown path ${pathname}; the OpenAI-compatible API is under /v1 and the management API under /api`));
  });
  // Streams can last many minutes; only idle keep-alive sockets time out.
  server.headersTimeout = 30_000;
  return server;
}
