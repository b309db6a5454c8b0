// Small HTTP helpers for the integration tests: JSON posts, Server-Sent Events read as they
// arrive (with arrival times), and polling for a condition instead of fixed sleeps.
import { performance } from 'node:perf_hooks';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every `intervalMs` until it holds; throws after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
  intervalMs = 10,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** POST a JSON body (an object is stringified; a string is sent as it is). */
export function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(init.signal ? { signal: init.signal } : {}),
  });
}

// The bodies the tests read are JSON of many shapes; `any` keeps the assertions readable.
export type Json = any;

export async function readJson(res: Response): Promise<Json> {
  const text = await res.text();
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw new Error(`expected JSON (status ${res.status}), got: ${text.slice(0, 300)}`);
  }
}

/** A chat request body for the demo engine. */
export function chat(model: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model, messages: [{ role: 'user', content: 'hello there' }], max_tokens: 4, ...extra };
}

export interface SseEvent {
  event: string | undefined;
  id: string | undefined;
  data: string;
  /** performance.now() when the read that completed this event returned. */
  at: number;
  /** Index of that read(): events delivered by one read arrived together. */
  read: number;
}

/** Incremental parser of a text/event-stream body. */
class SseParser {
  private buffer = '';
  private readonly decoder = new TextDecoder();

  push(chunk: Uint8Array, at: number, read: number): SseEvent[] {
    this.buffer += this.decoder.decode(chunk, { stream: true });
    const out: SseEvent[] = [];
    for (;;) {
      const match = /\r?\n\r?\n/.exec(this.buffer);
      if (!match) break;
      const block = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      let event: string | undefined;
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'id') id = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) out.push({ event, id, data: data.join('\n'), at, read });
    }
    return out;
  }

  get rest(): string {
    return this.buffer;
  }
}

export interface SseResult {
  events: SseEvent[];
  /** performance.now() when the body ended (or failed). */
  endedAt: number;
  /** Set when the body did not end cleanly (the connection was cut). */
  error: unknown;
  /** Text after the last complete event (should be empty). */
  rest: string;
}

/** Reads a whole SSE response body, timing every event. */
export async function readSse(res: Response, stopAfter = Infinity): Promise<SseResult> {
  if (!res.body) throw new Error('response has no body');
  const parser = new SseParser();
  const reader = res.body.getReader();
  const events: SseEvent[] = [];
  let error: unknown;
  let reads = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      events.push(...parser.push(value, performance.now(), reads++));
      if (events.length >= stopAfter) {
        await reader.cancel();
        break;
      }
    }
  } catch (err) {
    error = err;
  }
  return { events, endedAt: performance.now(), error, rest: parser.rest };
}

/** The `data:` payloads of an OpenAI stream that are JSON (everything but [DONE]). */
export function jsonChunks(events: SseEvent[]): Json[] {
  return events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data) as Json);
}

/** A long-lived SSE subscription (/api/events, log streams): events collect as they arrive. */
export interface SseSubscription {
  events: SseEvent[];
  status: number;
  contentType: string | null;
  /** Resolves with the first event (from index `from` on) that matches. */
  next(match: (event: SseEvent) => boolean, timeoutMs?: number, from?: number): Promise<SseEvent>;
  close(): Promise<void>;
}

export async function subscribeSse(url: string): Promise<SseSubscription> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal, headers: { accept: 'text/event-stream' } });
  const events: SseEvent[] = [];
  const parser = new SseParser();
  let reads = 0;
  const pump = (async () => {
    if (!res.body) return;
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        events.push(...parser.push(value, performance.now(), reads++));
      }
    } catch {
      // aborted by close(), or the server went away
    }
  })();
  return {
    events,
    status: res.status,
    contentType: res.headers.get('content-type'),
    async next(match, timeoutMs = 5000, from = 0) {
      let found: SseEvent | undefined;
      await waitFor(() => (found = events.slice(from).find(match)) !== undefined, timeoutMs, 'an SSE event');
      return found!;
    },
    async close() {
      controller.abort();
      await pump;
    },
  };
}
