// The window's static files (dist/renderer) for a browser, with express.static: loaded on the first
// request for them (server.ts), so a node nobody opens in a browser never loads express for it.
import { join } from 'node:path';
import express from 'express';
import { sendError } from './openai.js';
import { isUiNavigation, unknownPath } from './server.js';

export function createWebUiApp(dir: string): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.setHeader('content-security-policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
    res.setHeader('x-content-type-options', 'nosniff');
    next();
  });
  app.use(express.static(dir, { index: 'index.html', maxAge: '1h', setHeaders: (res, file) => file.endsWith('index.html') && res.setHeader('cache-control', 'no-cache') }));
  // A browser opening one of the window's pages (/models, a bookmark) gets the one page.
  app.use((req, res) => {
    if (isUiNavigation(req.method, req.headers.accept, req.path)) return res.sendFile(join(dir, 'index.html'), { headers: { 'cache-control': 'no-cache' } });
    sendError(res, unknownPath(req.path));
  });
  return app;
}
