import { existsSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import express from 'express';
import { ApiError } from '../../../src-shared/errors.js';
import type { ManagerApi } from '../../../src-shared/contract.js';
import type { ModelRegistry } from '../models/registry.js';
import { createManagementApp } from './management.js';
import { createOpenAIHandler, isOpenAIPath, sendError } from './openai.js';

export interface RouterOptions {
  api: ManagerApi;
  registry: ModelRegistry;
  bodyLimitBytes: () => number;
  /** The built window (dist/renderer): served at / so a browser gets the same UI as the app. */
  webUiDir?: string | null;
}

/** One HTTP server: /v1 goes straight to the proxy (hot path), everything else to express. */
export function createRouterServer(options: RouterOptions): http.Server {
  const openai = createOpenAIHandler({ registry: options.registry, bodyLimitBytes: options.bodyLimitBytes });
  const management = createManagementApp(options.api, options.registry);
  const webUi = options.webUiDir && existsSync(join(options.webUiDir, 'index.html')) ? createWebUiApp(options.webUiDir) : null;
  const server = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    if (isOpenAIPath(pathname)) return openai(req, res, pathname);
    if (pathname.startsWith('/api/') || pathname === '/api') return management(req, res);
    if (webUi && (req.method === 'GET' || req.method === 'HEAD')) return webUi(req, res);
    sendError(res, new ApiError(404, 'unknown_url', `unknown path ${pathname}; the OpenAI-compatible API is under /v1 and the management API under /api`));
  });
  // Streams can last many minutes; only idle keep-alive sockets time out.
  server.headersTimeout = 30_000;
  return server;
}

function createWebUiApp(dir: string): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.setHeader('content-security-policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
    res.setHeader('x-content-type-options', 'nosniff');
    next();
  });
  app.use(express.static(dir, { index: 'index.html', maxAge: '1h', setHeaders: (res, file) => file.endsWith('index.html') && res.setHeader('cache-control', 'no-cache') }));
  // Client-side routes (/models, /logs …) all load the one page.
  app.use((_req, res) => res.sendFile(join(dir, 'index.html'), { headers: { 'cache-control': 'no-cache' } }));
  return app;
}
