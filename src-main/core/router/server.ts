import { existsSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { http } from '../node-http.js';
import { ApiError } from '../../../src-shared/errors.js';
import { EVENTS_PATH, type ManagerApi } from '../../../src-shared/contract.js';
import type { ProgramConfig } from '../../../src-shared/config.js';
import type { ModelRegistry } from '../models/registry.js';
import type { RequestGuard } from '../security/guard.js';
import type { UsageSink } from '../usage/record.js';
import { serveEvents } from './events-stream.js';
import { installFastPath, KEEP_ALIVE_MS } from './fast-path.js';
import { EngineSlotTable } from './engine-slots.js';
import { takeArrival } from './arrivals.js';
import { createOpenAIHandler, isOpenAIPath, sendError } from './openai.js';

export interface RouterOptions {
  api: ManagerApi;
  registry: ModelRegistry;
  bodyLimitBytes: () => number;
  /** The built window (dist/renderer): served at / so a browser gets the same UI as the app. */
  webUiDir?: string | null;
  /** The door check every request passes first: Host, Origin / CORS, API keys (security/guard.ts). */
  guard?: RequestGuard;
  /** Queue and slow-client limits, read when used so a saved config applies at once. */
  limits?: () => ServerLimits;
  /** How often Node looks for clients past headers/request timeouts (default 1 s). */
  connectionsCheckingIntervalMs?: number;
  /** True while models are held off: a request for a stopped model gets 503 instead of a start. */
  held?: () => boolean;
  /** GET /metrics (Prometheus text), behind the same door as /api. */
  metrics?: () => Promise<string>;
  /**
   * Where both request paths hand one record per /v1 request (core/usage/ledger.ts): a push into an
   * array, never throws. Absent: nothing is recorded.
   */
  usage?: UsageSink;
  /** GET /health and /healthz: for probes, without an API key (see core/health.ts). */
  health?: () => { status: number; body: unknown };
}

export type ServerLimits = Pick<ProgramConfig, 'maxQueuedRequests' | 'headerTimeoutMs' | 'requestTimeoutMs' | 'bodyTimeoutMs'>;

/** One HTTP server: /v1 goes straight to the proxy (hot path), everything else to express. */
export function createRouterServer(options: RouterOptions): Server {
  const limits = options.limits;
  // Each engine's connection budget, one for both paths.
  const slots = new EngineSlotTable();
  const openai = createOpenAIHandler({
    registry: options.registry,
    slots,
    bodyLimitBytes: options.bodyLimitBytes,
    ...(options.usage ? { usage: options.usage } : {}),
    ...(options.held ? { held: options.held } : {}),
    ...(limits ? { queueLimit: () => limits().maxQueuedRequests, bodyTimeoutMs: () => limits().bodyTimeoutMs } : {}),
  });
  // express (and the management API's schemas) load on the first /api or web UI request: the
  // desktop window speaks IPC and a headless node may only ever see /v1, so neither need carry
  // them (≈10 MB of RSS). The event stream, which an open browser window holds all the time, is
  // served here without them.
  const { api, registry } = options;
  const management = onFirstUse(async () => (await import('./management.js')).createManagementApp(api, registry));
  const webUiDir = options.webUiDir && existsSync(join(options.webUiDir, 'index.html')) ? options.webUiDir : null;
  const webUi = webUiDir ? onFirstUse(async () => (await import('./web-ui.js')).createWebUiApp(webUiDir)) : null;
  const guard = options.guard;
  const server = http.createServer(
    // Node looks for clients past header_timeout only this often (its default, 30 s, would let a
    // trickled head hold a connection up to 30 s longer than header_timeout says).
    { keepAliveTimeout: KEEP_ALIVE_MS, requestTimeout: 0, connectionsCheckingInterval: options.connectionsCheckingIntervalMs ?? 1000 },
    (req, res) => {
      // Taken for every request, so that only the first on its connection can have it.
      const arrival = takeArrival(req.socket);
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const pathname = q === -1 ? url : url.slice(0, q);
      if (isOpenAIPath(pathname)) {
        if (guard && !guard.admit(req, res, 'v1')) return;
        return openai(req, res, pathname, arrival);
      }
      if (pathname.startsWith('/api/') || pathname === '/api') {
        if (guard && !guard.admit(req, res, 'api')) return;
        if (pathname === EVENTS_PATH && req.method === 'GET') return serveEvents(req, res, api);
        return management(req, res);
      }
      if (pathname === '/metrics' && options.metrics) {
        if (guard && !guard.admit(req, res, 'api')) return;
        if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, new ApiError(405, 'method_not_allowed', 'use GET for /metrics'));
        const metrics = options.metrics;
        void metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
            res.end(req.method === 'HEAD' ? undefined : text);
          },
          (err: unknown) => sendError(res, err),
        );
        return;
      }
      // Like the web UI: Host checked (DNS rebinding), no key (a container's probe has none).
      if (guard && !guard.admit(req, res, 'web')) return;
      if ((pathname === '/health' || pathname === '/healthz') && options.health) {
        if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, new ApiError(405, 'method_not_allowed', `use GET for ${pathname}`));
        const { status, body } = options.health();
        const text = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
        return;
      }
      if (webUi && (req.method === 'GET' || req.method === 'HEAD')) return webUi(req, res);
      sendError(res, unknownPath(pathname));
    },
  );
  applyServerTimeouts(server, limits?.() ?? { headerTimeoutMs: 30_000, requestTimeoutMs: 0 });
  // Ready models' plain requests skip node:http (fast-path.ts); everything else comes through here.
  const fast = installFastPath(server, {
    registry: options.registry,
    ...(guard ? { guard } : {}),
    bodyLimitBytes: options.bodyLimitBytes,
    headerTimeoutMs: () => limits?.().headerTimeoutMs ?? 30_000,
    slots,
    ...(options.usage ? { usage: options.usage } : {}),
    ...(options.held ? { held: options.held } : {}),
    ...(limits ? { queueLimit: () => limits().maxQueuedRequests } : {}),
    // A start's crowd may be more than the engine's connections: the rest go to node:http's pool.
    preloadFullPath: () => openai.preload(),
  });
  server.once('close', () => {
    fast.closeAll();
    void openai.close();
  });
  return server;
}

/**
 * Slow clients: headers must arrive within headerTimeoutMs and the whole request within
 * requestTimeoutMs. Node counts both only until the request is read, so a ten-minute stream of an
 * answer is never cut. Safe to call again after a config change.
 */
export function applyServerTimeouts(server: Server, limits: Pick<ServerLimits, 'headerTimeoutMs' | 'requestTimeoutMs'>): void {
  server.requestTimeout = limits.requestTimeoutMs;
  server.headersTimeout = limits.requestTimeoutMs > 0 ? Math.min(limits.headerTimeoutMs, limits.requestTimeoutMs) : limits.headerTimeoutMs;
}

export function unknownPath(pathname: string): ApiError {
  return new ApiError(404, 'unknown_url', `unknown path ${pathname}; the OpenAI-compatible API is under /v1 and the management API under /api (GET /api/openapi.json describes both)`);
}

/**
 * Whether a request is a browser loading one of the window's pages: a GET/HEAD that accepts HTML,
 * for a path that names no file (no extension) outside the APIs. Anything else the static files
 * don't have (a script's typo, a probe, a missing asset) is a JSON 404, never the page with 200.
 */
export function isUiNavigation(method: string | undefined, accept: string | undefined, pathname: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (accept === undefined || !/(^|[\s,])text\/html($|[\s,;])/i.test(accept)) return false;
  if (/^\/(v1|api|metrics|health|healthz)(\/|$)/.test(pathname)) return false;
  const last = pathname.slice(pathname.lastIndexOf('/') + 1);
  return !last.includes('.');
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A handler built on its first request. Requests that arrive while it loads wait for it (their
 * bodies stay unread in the socket meanwhile); a load that fails answers 500 and is tried again by
 * the next request.
 */
function onFirstUse(load: () => Promise<Handler>): Handler {
  let ready: Handler | null = null;
  let loading: Promise<Handler> | null = null;
  return (req, res) => {
    if (ready) return ready(req, res);
    loading ??= load().then((handler) => (ready = handler));
    loading.then(
      (handler) => handler(req, res),
      (err: unknown) => {
        loading = null;
        sendError(res, new ApiError(500, 'internal_error', `could not load the handler for ${req.url ?? '/'}: ${(err as Error).message}`));
      },
    );
  };
}
