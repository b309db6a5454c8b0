// What the router reads for the usage ledger, off the request's way: the answer's tail (the last
// pieces relayed, kept by reference, never a copy of the stream) is read for its token counts once
// the client has the whole answer. And, for a stream whose client did not ask for usage, the one
// change the router makes: it asks the engine (`stream_options.include_usage`) and drops that extra
// event from what the client sees, every other byte as the engine sent it.

import type { UsageRecord } from './record.js';

/** How much of an answer's end is kept for reading its usage (llama-server's last event is ~1 KB). */
export const TAIL_BYTES = 16 * 1024;

/** The last pieces of an answer body, by reference, adding up to at least TAIL_BYTES when there are that many. */
export class AnswerTail {
  private pieces: Buffer[] = [];
  private size = 0;

  push(piece: Buffer): void {
    if (piece.length === 0) return;
    this.pieces.push(piece);
    this.size += piece.length;
    // Drop whole pieces from the front while the rest still holds TAIL_BYTES.
    while (this.pieces.length > 1 && this.size - this.pieces[0]!.length >= TAIL_BYTES) this.size -= this.pieces.shift()!.length;
  }

  /** The kept bytes as text (latin1 keeps every byte; the fields read are ASCII). */
  text(): string {
    const all = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces, this.size);
    const from = Math.max(0, all.length - TAIL_BYTES);
    return all.toString('latin1', from);
  }
}

/**
 * What is read for a record: the tail's text (chunk lines taken out when the relayed bytes were
 * chunked) and, after it, the usage event a filter dropped.
 */
export function answerText(tail: AnswerTail, filter: UsageEventFilter | null, chunked: boolean): string {
  const text = chunked ? withoutChunkLines(tail.text()) : tail.text();
  return filter?.dropped ? text + filter.dropped : text;
}

/** A chunk-size line of HTTP/1.1 chunked framing between two chunks' data (JSON and SSE text never hold a bare CR LF). */
const CHUNK_LINE = /\r\n[0-9A-Fa-f]+(?:;[^\r\n]*)?\r\n/g;

/** Chunked framing taken out of a relayed tail, so a field split across two chunks reads whole. */
export function withoutChunkLines(text: string): string {
  return text.replace(CHUNK_LINE, '');
}

export interface AnswerUsage {
  promptTokens: number | null;
  completionTokens: number | null;
  cachedTokens: number | null;
  /** llama-server's own generation speed (timings.predicted_per_second). */
  enginePerSecond: number | null;
  /** Whether the answer carried llama-server's `timings`. */
  timings: boolean;
}

/**
 * The last value of each usage field in an answer's tail. Field names are matched with their quotes
 * and colon, so text inside a JSON string (where quotes are escaped) never matches.
 *   OpenAI chat/completions/embeddings: usage.prompt_tokens, completion_tokens, prompt_tokens_details.cached_tokens
 *   Responses API and Anthropic Messages: input_tokens, output_tokens, cache_read_input_tokens
 *   llama-server: timings.prompt_n, cache_n, predicted_n, predicted_per_second
 */
export function readUsage(tail: string): AnswerUsage {
  const prompt = lastNumber(tail, 'prompt_tokens') ?? lastNumber(tail, 'input_tokens');
  const completion = lastNumber(tail, 'completion_tokens') ?? lastNumber(tail, 'output_tokens');
  const cached = lastNumber(tail, 'cached_tokens') ?? lastNumber(tail, 'cache_read_input_tokens');
  const predictedN = lastNumber(tail, 'predicted_n');
  const promptN = lastNumber(tail, 'prompt_n');
  const cacheN = lastNumber(tail, 'cache_n');
  const perSecond = lastNumber(tail, 'predicted_per_second');
  const timings = predictedN !== null || perSecond !== null;
  return {
    // llama-server's timings count the prompt's processed and cached tokens apart.
    promptTokens: prompt ?? (promptN !== null ? promptN + (cacheN ?? 0) : null),
    completionTokens: completion ?? predictedN,
    cachedTokens: cached ?? cacheN,
    enginePerSecond: perSecond !== null && Number.isFinite(perSecond) && perSecond > 0 ? perSecond : null,
    timings,
  };
}

const NUMBER_AFTER = new Map<string, RegExp>();

function lastNumber(text: string, field: string): number | null {
  let re = NUMBER_AFTER.get(field);
  if (!re) NUMBER_AFTER.set(field, (re = new RegExp(`"${field}"\\s*:\\s*(-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?)`, 'g')));
  // Searching from the end: the last occurrence is the answer's (a stream repeats usage: null or partial counts).
  let at = text.length;
  for (;;) {
    const i = text.lastIndexOf(`"${field}"`, at);
    if (i < 0) return null;
    re.lastIndex = i;
    const m = re.exec(text);
    if (m && m.index === i) {
      const n = Number(m[1]);
      return Number.isFinite(n) && n >= 0 ? n : null;
    }
    at = i - 1;
    if (at < 0) return null;
  }
}

/**
 * After a whole stream answered 2xx on an endpoint that knows include_usage: tells the engine's
 * supervisor whether it carried llama-server's `timings` (then the next stream isn't asked for usage).
 */
export function noteStreamTimings(engine: { noteTimings(seen: boolean): void }, endpoint: string, status: number, tail: string): void {
  if (status >= 200 && status < 300 && knowsIncludeUsage(endpoint)) engine.noteTimings(tail.includes('"timings"'));
}

/** The endpoints whose streams know `stream_options.include_usage`. */
const INCLUDE_USAGE_ENDPOINTS: ReadonlySet<string> = new Set(['/v1/chat/completions', '/v1/completions']);

export function knowsIncludeUsage(endpoint: string): boolean {
  return INCLUDE_USAGE_ENDPOINTS.has(endpoint);
}

const INCLUDE_USAGE = Buffer.from('"stream_options":{"include_usage":true},', 'latin1');

/** `body` (a JSON object with members) with `"stream_options":{"include_usage":true}` as its first member. */
export function withIncludeUsage(body: Buffer): Buffer {
  let i = 0;
  while (i < body.length && body[i] !== 0x7b) i++;
  return Buffer.concat([body.subarray(0, i + 1), INCLUDE_USAGE, body.subarray(i + 1)]);
}

/**
 * Takes out of an SSE stream the event the router asked for (`stream_options.include_usage`): the
 * one whose data is a chunk with `"choices":[]` and a usage object. Everything else passes in the
 * order and bytes it came; an event is held only until its blank line arrives.
 */
export class UsageEventFilter {
  private partial: Buffer | null = null;
  /** The dropped event's text, for readUsage. */
  dropped: string | null = null;

  /** The bytes of `data` to pass on now (maybe empty). */
  feed(data: Buffer): Buffer {
    const buf = this.partial ? Buffer.concat([this.partial, data]) : data;
    this.partial = null;
    let out: Buffer[] | null = null;
    let passFrom = 0;
    let at = 0;
    for (;;) {
      const end = eventEnd(buf, at);
      if (end < 0) break;
      if (this.dropped === null && eventNamesUsage && isUsageEvent(buf, at, end)) {
        this.dropped = buf.toString('latin1', at, end);
        (out ??= []).push(buf.subarray(passFrom, at));
        passFrom = end;
      }
      at = end;
    }
    // An unfinished event waits for its end (only it: what came before goes on now).
    if (at < buf.length) this.partial = Buffer.from(buf.subarray(at));
    const upTo = at;
    if (out === null) return buf.subarray(0, upTo);
    out.push(buf.subarray(passFrom, upTo));
    return Buffer.concat(out);
  }

  /** What is left at the end of the stream (an event never finished: passed on as it is). */
  flush(): Buffer {
    const rest = this.partial ?? Buffer.alloc(0);
    this.partial = null;
    return rest;
  }
}

/** Whether the event eventEnd() found last holds `"usage"` (only such an event may be the usage one). */
let eventNamesUsage = false;

/**
 * The index past the blank line that ends the event starting at `from` (\n\n, \r\n\r\n, \r\r, mixed),
 * or -1; sets eventNamesUsage. One pass in JS over an event of a few hundred bytes: this runs on
 * every event of a stream, and native searches (three or four per event, each a call into C++)
 * cost more on a router that sat idle between tokens than the bytes do (bench: stream chunk gap).
 */
function eventEnd(buf: Buffer, from: number): number {
  eventNamesUsage = false;
  for (let i = from; i < buf.length; i++) {
    const c = buf[i];
    if (c === 0x22) {
      if (!eventNamesUsage && bytesAt(buf, i, USAGE_KEY)) eventNamesUsage = true;
      continue;
    }
    if (c !== 0x0a && c !== 0x0d) continue;
    // A line ends at i; the event ends if the next line is empty.
    const j = i + (c === 0x0d && buf[i + 1] === 0x0a ? 2 : 1);
    if (j > buf.length) return -1;
    const d = buf[j];
    if (d === 0x0a) return j + 1;
    if (d === 0x0d) return buf[j + 1] === 0x0a ? j + 2 : j + 1 < buf.length ? j + 1 : -1;
    i = j - 1;
  }
  return -1;
}

function bytesAt(buf: Buffer, at: number, what: Buffer): boolean {
  if (at + what.length > buf.length) return false;
  for (let k = 0; k < what.length; k++) if (buf[at + k] !== what[k]) return false;
  return true;
}

const USAGE_KEY = Buffer.from('"usage"', 'latin1');
const EMPTY_CHOICES = /"choices"\s*:\s*\[\s*\]/;
const USAGE_OBJECT = /"usage"\s*:\s*\{/;

function isUsageEvent(buf: Buffer, start: number, end: number): boolean {
  // Usage events are short (a few hundred bytes) and name "usage" (eventEnd saw it).
  if (end - start > 8192) return false;
  const text = buf.toString('latin1', start, end);
  // One data line: never a usage event glued to another.
  return text.startsWith('data:') && text.indexOf('data:', 5) < 0 && EMPTY_CHOICES.test(text) && USAGE_OBJECT.test(text);
}

/** The product of a User-Agent ("curl/8.5.0" → "curl", "OpenAI/Python 1.51.0" → "OpenAI/Python"), or ''. */
export function userAgentProduct(ua: string | undefined): string {
  if (!ua) return '';
  const first = ua.trim().split(/\s+/, 1)[0] ?? '';
  const slash = first.indexOf('/');
  const product = slash > 0 && /^v?\d/.test(first.slice(slash + 1)) ? first.slice(0, slash) : first;
  // eslint-disable-next-line no-control-regex
  return product.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 64);
}

/** The tokens/s of a record: the engine's own figure, else completion tokens over the generation time. */
export function generationSpeed(usage: AnswerUsage, streamed: boolean, ttftMs: number | null, totalMs: number): number | null {
  if (usage.enginePerSecond !== null) return round2(usage.enginePerSecond);
  const tokens = usage.completionTokens;
  if (tokens === null || tokens <= 0) return null;
  // A stream's generation starts with its first token; a plain answer's time includes the prompt.
  const ms = streamed && ttftMs !== null ? totalMs - ttftMs : totalMs;
  return ms > 0 ? round2((tokens * 1000) / ms) : null;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** What both request paths know of an exchange, made into a record. */
export function usageRecord(fields: {
  startedAt: number;
  model: string;
  requested: string;
  endpoint: string;
  status: number;
  errorCode: string | null;
  client: string;
  streamed: boolean;
  ttftMs: number | null;
  totalMs: number;
  /** answerText(): what the usage and an engine's own error code are read from. */
  tail: string | null;
}): UsageRecord {
  const usage = fields.tail !== null ? readUsage(fields.tail) : null;
  return {
    startedAt: fields.startedAt,
    model: fields.model,
    requested: fields.requested,
    endpoint: fields.endpoint,
    status: fields.status,
    // Ours when we answered with an error; else the engine's own error answer names it.
    errorCode: fields.errorCode ?? (fields.status >= 400 && fields.tail !== null ? errorCodeOf(fields.tail) : null),
    client: fields.client,
    promptTokens: usage?.promptTokens ?? null,
    completionTokens: usage?.completionTokens ?? null,
    cachedTokens: usage?.cachedTokens ?? null,
    ttftMs: fields.ttftMs === null ? null : round2(fields.ttftMs),
    totalMs: round2(fields.totalMs),
    tokensPerSecond: usage && fields.status >= 200 && fields.status < 300 ? generationSpeed(usage, fields.streamed, fields.ttftMs, fields.totalMs) : null,
    streamed: fields.streamed,
  };
}

/** The error code of an OpenAI-shaped error answer's tail ({"error":{"code":"..."}}), or null. */
export function errorCodeOf(tail: string): string | null {
  const m = /"code"\s*:\s*"([^"\\]{1,80})"/.exec(tail);
  return m ? m[1]! : null;
}
