// The hot path: /v1 requests are matched to a model by their JSON `model`, the engine is made
// ready (one start however many requests wait), and the answer is streamed straight through.
import type http from 'node:http';
import type { ModelMode } from '../../../src-shared/config.js';
import { formatDuration } from '../../../src-shared/duration.js';
import { ApiError, errorBody } from '../../../src-shared/errors.js';
import { modelNotFound } from '../api.js';
import { UpstreamPools } from './upstream.js';
import type { EngineSlotTable } from './engine-slots.js';
import { quickModelOf, quickStreamInfo, withModel } from './json-model.js';
import { keyNameOf } from '../security/guard.js';
import type { UsageSink } from '../usage/record.js';
import { AnswerTail, answerText, knowsIncludeUsage, noteStreamTimings, UsageEventFilter, usageRecord, userAgentProduct, withIncludeUsage } from '../usage/capture.js';
import { untilReady } from './loading-stream.js';
import type { Arrival } from './arrivals.js';
import { requestedModelSchema } from '../../../src-shared/proxied-request.js';
import type { ModelRegistry } from '../models/registry.js';
import type { ModelSupervisor } from '../models/supervisor.js';
import { servedElsewhere } from '../upstreams/elsewhere.js';

/** Which model modes each proxied endpoint serves. */
export const ENDPOINT_MODES: Record<string, readonly ModelMode[]> = {
  '/v1/chat/completions': ['Chat', 'Base'],
  '/v1/completions': ['Chat', 'Base'],
  // OpenAI's Responses API (vLLM, SGLang, LM Studio) and Anthropic's Messages API (llama-server,
  // for Claude-compatible clients): passed on as they are, to engines that speak them.
  '/v1/responses': ['Chat', 'Base'],
  '/v1/messages': ['Chat', 'Base'],
  '/v1/messages/count_tokens': ['Chat', 'Base'],
  '/v1/embeddings': ['Embedding'],
  '/v1/rerank': ['Reranker'],
  '/v1/reranking': ['Reranker'],
  '/rerank': ['Reranker'],
};


// Headers that describe one hop, not the message (RFC 9110 §7.6.1), plus ones we set ourselves.
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'host', 'content-length', 'expect',
]);
// The client's credentials are for us, never for the engine (nor its logs); and no compression.
export const NOT_FORWARDED = new Set([...HOP_BY_HOP, 'authorization', 'x-api-key', 'cookie', 'accept-encoding']);

/** Engine answer headers starting so are CORS, which is our decision (llama-server allows every origin). */
export const CORS_HEADER_PREFIX = 'access-control-';

/** Whether an engine's answer header (lower-case name) reaches our client. */
function passesToClient(name: string): boolean {
  return !HOP_BY_HOP.has(name) && !name.startsWith(CORS_HEADER_PREFIX);
}

export interface OpenAIRouterOptions {
  registry: ModelRegistry;
  bodyLimitBytes: () => number;
  /** Requests that may wait for one model's start (program.max_queued_requests). */
  queueLimit?: () => number;
  /** True while models are held off (ManagerApi.holdModels). */
  held?: () => boolean;
  /** Longest pause while reading a request body (program.body_timeout); 0 = none. */
  bodyTimeoutMs?: () => number;
  /** Each engine's connection budget, shared with the fast path. */
  slots: EngineSlotTable;
  /** Where each /v1 request's usage record goes (core/usage); absent: nothing is read. */
  usage?: UsageSink;
}

/** What a request on this path keeps for its usage record (made when a ledger listens). */
interface Capture {
  startedAt: number;
  t0: number;
  ttft: number | null;
  model: string;
  requested: string;
  endpoint: string;
  client: string;
  errorCode: string | null;
  streamed: boolean;
  tail: AnswerTail;
  filter: UsageEventFilter | null;
  /** The model's supervisor once resolved: a finished stream tells it whether its engine sends timings. */
  supervisor: ModelSupervisor | null;
}

export function isOpenAIPath(pathname: string): boolean {
  return pathname.startsWith('/v1/') || pathname === '/v1' || pathname === '/rerank';
}

export function createOpenAIHandler(options: OpenAIRouterOptions) {
  const upstream = new UpstreamPools(options.slots);

  /** `arrival`: when the request came, where it waited for its model's start on the fast path first (arrivals.ts). */
  const handleOpenAI = function handleOpenAI(req: http.IncomingMessage, res: http.ServerResponse, pathname: string, arrival?: Arrival): void {
    if (pathname === '/v1/models' || pathname.startsWith('/v1/models/')) {
      if (req.method !== 'GET') return sendError(res, new ApiError(405, 'method_not_allowed', `use GET for ${pathname}`));
      return listModels(res, options.registry, pathname);
    }
    const modes = ENDPOINT_MODES[pathname];
    if (!modes) {
      return sendError(res, new ApiError(404, 'unknown_url', `unknown endpoint ${req.method} ${pathname}; see GET /v1/models and the OpenAI API paths`));
    }
    const capture = options.usage ? startCapture(req, res, pathname, options.usage, arrival) : null;
    const answerError = capture ? (r: http.ServerResponse, err: unknown) => {
      capture.errorCode = err instanceof ApiError ? err.code : 'internal_error';
      sendError(r, err);
    } : sendError;
    if (req.method !== 'POST') return answerError(res, new ApiError(405, 'method_not_allowed', `use POST for ${pathname}`));
    const type = req.headers['content-type'];
    // No content type is read as JSON (some clients send none), and so is curl -d's default
    // form type (the body must still parse as JSON); any other type is a mistake worth naming.
    if (type !== undefined && !isJsonType(type)) {
      return answerError(
        res,
        new ApiError(415, 'unsupported_media_type', `send the request body as JSON with "content-type: application/json" (got "${type.slice(0, 80)}"); with curl, add -H 'content-type: application/json'`),
      );
    }

    readBody(req, options.bodyLimitBytes(), options.bodyTimeoutMs?.() ?? 0)
      .then((body) => {
        const model = modelOf(body);
        if (capture) capture.requested = model;
        const supervisor = options.registry.resolve(model);
        if (!supervisor) throw modelNotFound(options.registry, model);
        if (capture) {
          capture.model = supervisor.name;
          capture.supervisor = supervisor;
        }
        if (!modes.includes(supervisor.model.mode)) {
          throw new ApiError(
            400,
            'model_mode_mismatch',
            `model "${model}" is a ${supervisor.model.mode} model; ${pathname} needs a ${modes.join(' or ')} model`,
          );
        }
        // The engine may know the model by another name (vLLM's --served-model-name).
        const served = supervisor.model.servedModelName;
        // Held: nothing starts on this computer; a peer's model or a server elsewhere still may.
        if (supervisor.currentState !== 'ready' && options.held?.() && !servedElsewhere(supervisor)) throw heldError(supervisor.name);
        let sent = served !== null && served !== model ? withModel(body, served) : body;
        // A stream whose client didn't ask for usage: the engine is asked (its usage event is
        // dropped on the way back), unless its answers carry llama-server's timings anyway.
        if (capture && knowsIncludeUsage(pathname) && !supervisor.sendsTimings && options.usage!.wantsUsage?.() === true) {
          if (quickModelOf(sent) !== undefined && quickStreamInfo.stream && !quickStreamInfo.streamOptions) {
            sent = withIncludeUsage(sent);
            capture.filter = new UsageEventFilter();
          }
        }
        return forward(req, res, supervisor, sent, upstream, options.queueLimit?.(), capture);
      })
      .catch((err: unknown) => {
        if (err instanceof BodyTimeout) {
          res.setHeader('connection', 'close');
          answerError(res, new ApiError(408, 'request_timeout', `no part of the request body arrived for ${formatDuration(err.ms)} (program.body_timeout)`));
          res.once('finish', () => req.destroy());
          return;
        }
        if (err instanceof BodyTooLarge) {
          answerError(res, new ApiError(413, 'request_too_large', `request body is larger than the limit of ${formatBytes(err.limit)} (program.body_limit_mb)`));
          // Stop reading the rest of an oversized upload.
          req.destroy();
          return;
        }
        answerError(res, err);
      });
  };
  return Object.assign(handleOpenAI, { close: () => upstream.close(), preload: () => upstream.preload() });
}

async function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  supervisor: ModelSupervisor,
  body: Buffer,
  upstream: UpstreamPools,
  queueLimit: number | undefined,
  capture: Capture | null,
): Promise<void> {
  const release = supervisor.acquire();
  res.once('close', release);
  if (supervisor.currentState !== 'ready') {
    upstream.preload();
    await untilReady(req, res, supervisor, body, queueLimit);
  }
  if (res.destroyed) return;

  // From the raw list (cheaper than the parsed object); no added compression, so streamed tokens
  // reach the client as they are written; host and length are set by the client library.
  const raw = req.rawHeaders;
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!NOT_FORWARDED.has(name)) headers.push(raw[i]!, raw[i + 1]!);
  }
  const engineKey = supervisor.engineKey;
  if (engineKey) headers.push('authorization', `Bearer ${engineKey}`);
  let streaming = false;
  const request = { port: supervisor.port, limit: supervisor.connectionLimit, path: req.url ?? '/', headers, body };
  // An upstream model's request goes to its server (upstreams/remote.ts: path, key, model name), the same way.
  upstream.forward(supervisor.remote?.request(request) ?? request, res, {
    onHead(status, upHeaders) {
      const outHeaders: http.OutgoingHttpHeaders = {};
      for (const name in upHeaders) {
        const value = upHeaders[name];
        if (value !== undefined && passesToClient(name)) outHeaders[name] = value;
      }
      streaming = String(upHeaders['content-type'] ?? '').includes('text/event-stream');
      if (capture) {
        capture.streamed = streaming;
        // Only a stream that is the answer has the usage event to drop; an error passes as it is.
        if (capture.filter && !(streaming && status >= 200 && status < 300)) capture.filter = null;
      }
      // A filtered stream is shorter than the engine said: node:http frames it in chunks.
      if (upHeaders['content-length'] !== undefined && !capture?.filter) outHeaders['content-length'] = upHeaders['content-length'];
      res.writeHead(status, outHeaders);
      // A stream's client should see the status at once, even if the first token takes a while;
      // but when the first chunk came in the same read (the usual case) it carries the headers,
      // one write instead of two.
      if (streaming) setImmediate(() => res.headersSent || res.destroyed || res.flushHeaders());
    },
    onError(err, answered) {
      // Nothing listens on a port of an engine we think is ready: have its health checked now.
      if (err.code === 'ECONNREFUSED' || supervisor.remote) supervisor.reportUnreachable();
      if (res.destroyed) return;
      if (!answered && !res.headersSent) {
        const error = engineClosedError(supervisor);
        if (capture) capture.errorCode = error.code;
        sendError(res, error);
      } else {
        if (capture) capture.errorCode = 'engine_died';
        endBroken(res, supervisor, streaming);
      }
    },
    ...(capture ? captureEvents(capture) : {}),
  });
}

/** The usage capture's share of a request: its record is made when the answer has gone (or failed). */
function startCapture(req: http.IncomingMessage, res: http.ServerResponse, endpoint: string, usage: UsageSink, arrival?: Arrival): Capture {
  // A request that waited for its model's start on the fast path counts from its arrival there.
  const capture: Capture = {
    startedAt: arrival?.startedAt ?? Date.now(),
    t0: arrival?.t0 ?? performance.now(),
    ttft: null,
    model: '',
    requested: '',
    endpoint,
    client: keyNameOf(req) ?? userAgentProduct(req.headers['user-agent']),
    errorCode: null,
    streamed: false,
    tail: new AnswerTail(),
    filter: null,
    supervisor: null,
  };
  res.once('close', () => {
    const totalMs = performance.now() - capture.t0;
    const status = res.headersSent ? res.statusCode : 0;
    // undici hands over the body without its framing.
    const tail = answerText(capture.tail, capture.filter, false);
    const { supervisor, ...fields } = capture;
    usage.record(usageRecord({ ...fields, ttftMs: capture.ttft, status, totalMs, tail }));
    if (supervisor && capture.streamed && capture.errorCode === null && res.writableFinished) noteStreamTimings(supervisor, endpoint, status, tail);
  });
  return capture;
}

/** Reading (and, for a stream we asked usage for, filtering) the answer's body on its way. */
function captureEvents(capture: Capture): { onData(chunk: Buffer): Buffer; onEnd(): Buffer | null } {
  return {
    onData(chunk) {
      capture.ttft ??= performance.now() - capture.t0;
      const out = capture.filter ? capture.filter.feed(chunk) : chunk;
      capture.tail.push(out);
      return out;
    },
    onEnd() {
      const rest = capture.filter?.flush() ?? null;
      if (rest && rest.length > 0) capture.tail.push(rest);
      return rest;
    },
  };
}

/** The 503 of a request for a stopped model while models are held off: a person releases the hold. */
function heldError(model: string): ApiError {
  return new ApiError(503, 'models_held', `models are held off (Hold models, in the tray or the window), so ${model} is not started; release the hold to use it`);
}

/** The 502 of a request whose engine closed the connection before answering. */
export function engineClosedError(supervisor: ModelSupervisor): ApiError {
  return new ApiError(502, 'engine_unavailable', `the engine of model "${supervisor.name}" closed the connection before answering (state: ${supervisor.currentState})`);
}

/** The in-band SSE error event a stream gets when its engine dies mid-answer. */
export function engineDiedEvent(supervisor: ModelSupervisor): string {
  const body = errorBody(`the engine of model "${supervisor.name}" stopped in the middle of the answer`, 'upstream_error', 'engine_died');
  return `data: ${JSON.stringify(body)}\n\n`;
}

/** The engine died mid-answer: tell a streaming client in-band, cut a plain one off. */
function endBroken(res: http.ServerResponse, supervisor: ModelSupervisor, streaming: boolean): void {
  if (res.writableEnded || res.destroyed) return;
  if (streaming) {
    res.end(engineDiedEvent(supervisor));
  } else {
    res.destroy();
  }
}

function listModels(res: http.ServerResponse, registry: ModelRegistry, pathname: string): void {
  const created = Math.floor(Date.now() / 1000);
  const entries = registry.list().flatMap((s) => {
    const info = s.info();
    const meta = { owned_by: info.upstream?.peer !== undefined ? `peer:${info.upstream.peer}` : 'llm-manager', created, mode: info.mode, state: info.state, port: info.port };
    return [
      { id: info.name, object: 'model', ...meta, aliases: info.aliases },
      ...info.aliases.map((alias) => ({ id: alias, object: 'model', ...meta, parent: info.name, root: info.name })),
    ];
  });
  if (pathname === '/v1/models') return sendJson(res, 200, { object: 'list', data: entries });
  const id = safeDecode(pathname.slice('/v1/models/'.length));
  const entry = entries.find((e) => e.id.toLowerCase() === id.toLowerCase());
  if (!entry) return sendError(res, modelNotFound(registry, id));
  sendJson(res, 200, entry);
}

export function modelOf(body: Buffer): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ApiError(400, 'invalid_json', body.length === 0 ? 'request body is empty; send a JSON object with a "model" field' : 'request body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ApiError(400, 'invalid_request', 'request body must be a JSON object with a "model" field');
  }
  const model = (parsed as { model?: unknown }).model;
  if (model === undefined) throw new ApiError(400, 'model_required', 'you must provide a model parameter ("model": "name or alias")');
  // The OpenAPI document's ProxiedRequest.model: one schema for both.
  const checked = requestedModelSchema.safeParse(model);
  if (!checked.success) throw new ApiError(400, 'invalid_model', checked.error.issues[0]!.message);
  return checked.data;
}

export function isJsonType(contentType: string): boolean {
  const semi = contentType.indexOf(';');
  const mime = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return mime === 'application/json' || mime === 'application/x-www-form-urlencoded' || (mime.startsWith('application/') && mime.endsWith('+json'));
}

class BodyTimeout extends Error {
  constructor(readonly ms: number) {
    super('body timeout');
  }
}

class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super('body too large');
  }
}

function readBody(req: http.IncomingMessage, limit: number, idleTimeoutMs: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // A client that stops sending mid-body would hold the request (and its socket) forever; the
    // timer covers only the body, so a long streamed answer afterwards is not cut.
    const timer = idleTimeoutMs > 0 && !req.complete ? setTimeout(() => {
      req.removeAllListeners('data');
      reject(new BodyTimeout(idleTimeoutMs));
    }, idleTimeoutMs) : null;
    req.on('data', (chunk: Buffer) => {
      timer?.refresh();
      size += chunk.length;
      if (size > limit) {
        if (timer) clearTimeout(timer);
        req.removeAllListeners('data');
        reject(new BodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (timer) clearTimeout(timer);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.once('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
  });
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, extraHeaders: http.OutgoingHttpHeaders = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}

/** `err` as the ApiError it is answered with: itself, or a 500 internal_error that names it. */
export function asApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(500, 'internal_error', `internal error: ${(err as Error)?.message ?? String(err)}`);
}

export function sendError(res: http.ServerResponse, err: unknown): void {
  const apiError = asApiError(err);
  const headers: http.OutgoingHttpHeaders = apiError.retryAfter !== undefined ? { 'retry-after': String(apiError.retryAfter) } : {};
  sendJson(res, apiError.status, apiError.toBody(), headers);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)} MB` : `${Math.round(bytes / 1024)} KB`;
}
