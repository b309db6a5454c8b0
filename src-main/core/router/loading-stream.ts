// Opt-in progress for a streaming request that waits for its model's start: the answer's head
// (200, text/event-stream) goes out at once, then SSE comment lines (": loading qwen 42% (loading
// weights)"), which OpenAI clients skip, until the engine answers; its stream follows in the same
// response. Asked for per request (header `X-LLM-Manager-Loading: stream`) or per model / node
// (loading_stream: true; the header `off` declines). Only a request with "stream": true qualifies:
// a plain JSON answer can't carry comments.
//
// Once the head is out, what would have been an HTTP error becomes an SSE error event the client
// reads as one ({"error": {...}}): a failed start, an engine's non-stream answer (its 4xx/5xx JSON),
// an engine that closes before answering. This is the node:http path only: a request for a model
// that isn't ready never takes the fast path, and one for a ready model needs none of this.
import type http from 'node:http';
import { ApiError, errorBody, type OpenAIErrorBody } from '../../../src-shared/errors.js';
import type { ModelInfo } from '../../../src-shared/contract.js';
import type { ModelSupervisor } from '../models/supervisor.js';

export const LOADING_HEADER = 'x-llm-manager-loading';
/** A comment at least this often while waiting: progress by time, and a keep-alive for proxies and clients. */
const TICK_MS = 1000;

/**
 * Waits for the engine like supervisor.ensureReady; for an opted-in streaming request, sends the
 * head now and progress comments while it waits. Rejects as ensureReady does (the caller's error
 * answer is then a no-op, as the error was already written in-band).
 */
export async function untilReady(req: http.IncomingMessage, res: http.ServerResponse, supervisor: ModelSupervisor, body: Buffer, queueLimit: number | undefined): Promise<void> {
  const ready = supervisor.ensureReady(queueLimit === undefined ? {} : { queueLimit });
  if (!wantsLoadingStream(req, supervisor, body)) return ready;
  // A refusal that comes at once (queue full, restart pause) keeps its plain HTTP status.
  const settled = await Promise.race([ready.then(() => true, () => true), new Promise<boolean>((resolve) => setImmediate(resolve, false))]);
  if (settled || res.destroyed || res.headersSent) return ready;

  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  let last = '';
  const comment = (info: ModelInfo, always: boolean) => {
    const line = loadingComment(info);
    if (!always && line === last) return;
    last = line;
    if (!res.destroyed && !res.writableEnded) res.write(`: ${line}\n\n`);
  };
  comment(supervisor.info(), true);
  const off = supervisor.onChange((info) => comment(info, false));
  const tick = setInterval(() => comment(supervisor.info(), true), TICK_MS);
  const stop = () => {
    off();
    clearInterval(tick);
  };
  // A client that leaves stops the comments at once (its request is released by the router).
  res.once('close', stop);
  try {
    await ready;
  } catch (err) {
    endWithError(res, err instanceof ApiError ? err.toBody() : errorBody(String((err as Error)?.message ?? err), 'server_error', 'internal_error'));
    throw err;
  } finally {
    res.off('close', stop);
    stop();
  }
  answerInBand(res, supervisor);
}

/** `loading qwen 42% (loading weights)`, or the seconds waited when nothing tells how far it is. */
export function loadingComment(info: Pick<ModelInfo, 'name' | 'state' | 'loading'>): string {
  const p = info.loading;
  if (info.state !== 'starting' || !p) return `loading ${info.name} (${info.state})`;
  const seconds = `${Math.round(p.elapsedMs / 1000)} s`;
  if (p.fraction === null) return `loading ${info.name} ${seconds}`;
  const pct = `${Math.floor(p.fraction * 100)}%`;
  return `loading ${info.name} ${pct}${p.stage ? ` (${p.stage})` : ''}`;
}

function wantsLoadingStream(req: http.IncomingMessage, supervisor: ModelSupervisor, body: Buffer): boolean {
  const asked = req.headers[LOADING_HEADER];
  const value = (Array.isArray(asked) ? asked[0] : asked)?.trim().toLowerCase();
  if (value === 'off' || value === 'none' || value === 'false') return false;
  if (value !== 'stream' && !supervisor.model.loadingStream) return false;
  try {
    return (JSON.parse(body.toString('utf8')) as { stream?: unknown }).stream === true;
  } catch {
    return false;
  }
}

function endWithError(res: http.ServerResponse, body: OpenAIErrorBody, end: (chunk: string) => void = (chunk) => res.end(chunk)): void {
  if (res.destroyed || res.writableEnded) return;
  end(`data: ${JSON.stringify(body)}\n\n`);
}

/**
 * The head is already out: the forwarding code's writeHead for the engine's answer is taken in
 * (an event stream passes; anything else is gathered and ends as an SSE error event), and a
 * destroy before the engine answered ends the stream with an error event instead of a cut.
 */
function answerInBand(res: http.ServerResponse, supervisor: ModelSupervisor): void {
  const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const end = res.end.bind(res) as (chunk?: unknown, ...rest: unknown[]) => http.ServerResponse;
  const destroy = res.destroy.bind(res);
  let mode: 'waiting' | 'stream' | 'error' = 'waiting';
  let status = 0;
  const gathered: Buffer[] = [];
  const patch = res as unknown as Record<'writeHead' | 'write' | 'end' | 'destroy', unknown>;
  patch.writeHead = (code: number, headers?: http.OutgoingHttpHeaders) => {
    const type = String(headers?.['content-type'] ?? '');
    status = code;
    mode = code === 200 && type.includes('text/event-stream') ? 'stream' : 'error';
    return res;
  };
  patch.write = (chunk: unknown, ...rest: unknown[]) => {
    if (mode !== 'error') return write(chunk, ...rest);
    if (chunk !== undefined && chunk !== null) gathered.push(Buffer.from(chunk as string));
    return true;
  };
  patch.end = (chunk?: unknown, ...rest: unknown[]) => {
    if (mode !== 'error') return end(chunk, ...rest);
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') gathered.push(Buffer.from(chunk as string));
    endWithError(res, engineErrorBody(status, Buffer.concat(gathered), supervisor.name), (text) => end(text));
    return res;
  };
  patch.destroy = (err?: Error) => {
    if (mode === 'waiting' && !res.writableEnded && !res.destroyed) {
      const body = errorBody(`the engine of model "${supervisor.name}" closed the connection before answering (state: ${supervisor.currentState})`, 'upstream_error', 'engine_unavailable');
      endWithError(res, body, (text) => end(text));
      return res;
    }
    return destroy(err);
  };
}

/** The engine's own error body when it is OpenAI-shaped, else one that says what it answered. */
function engineErrorBody(status: number, raw: Buffer, model: string): OpenAIErrorBody {
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as Partial<OpenAIErrorBody>;
    if (parsed.error && typeof parsed.error.message === 'string') return parsed as OpenAIErrorBody;
  } catch {
    // not JSON: described below
  }
  const text = raw.toString('utf8').trim().slice(0, 500);
  const what = status === 200 ? 'a non-streaming answer to a streaming request' : `status ${status}`;
  return errorBody(`the engine of model "${model}" answered with ${what}${text ? `: ${text}` : ''}`, status >= 500 || status === 200 ? 'upstream_error' : 'invalid_request_error', 'engine_error');
}
