// The window's own OpenAI calls (the Chat page), straight to the endpoint local apps use.
import { ApiError, apiErrorFromBody } from '../../../src-shared/errors.js';
import { authHeaders, noteUnauthorized } from '../../api/auth.js';
import { openAiBase, transport } from '../../api/manager.js';
import { readSse } from '../../lib/sse.js';

import type { ChatMessage, StreamChat, StreamResult } from './chat-types.js';

export type { ChatMessage, StreamResult };

export async function postJson<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const res = await send(path, body, signal);
  return (await res.json()) as T;
}

async function send(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  const base = await openAiBase();
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method: 'POST',
      // In the app, Electron adds the app's own key; a browser sends the one the user entered.
      headers: { 'content-type': 'application/json', ...(transport === 'http' ? authHeaders() : {}) },
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, 'unreachable', `Can't reach the endpoint at ${base}. Is LLM Manager still running?`, 'service_unavailable');
  }
  if (!res.ok) {
    const err = apiErrorFromBody(res.status, await res.json().catch(() => null));
    if (res.status === 401 && transport === 'http') noteUnauthorized(err);
    throw err;
  }
  return res;
}

/** Streams a chat completion, calling onDelta with each piece of text as it arrives. */
export const streamChat: StreamChat = async (request, onDelta, signal) => {
  const res = await send('/v1/chat/completions', { ...request, stream: true, stream_options: { include_usage: true } }, signal);
  if (!res.body) throw new ApiError(502, 'no_body', 'The engine answered without a body.');
  const result: StreamResult = { finishReason: null, completionTokens: null, chunks: 0 };
  await readSse(res.body, (message) => {
    if (message.data === '[DONE]') return 'stop';
    if (message.data !== '') handleChunk(JSON.parse(message.data) as ChatChunk, result, onDelta);
  });
  return result;
};

interface ChatChunk {
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { completion_tokens?: number } | null;
  error?: { message?: string };
}

function handleChunk(chunk: ChatChunk, result: StreamResult, onDelta: (text: string) => void): void {
  if (chunk.error) throw new ApiError(502, 'upstream_error', chunk.error.message ?? 'The engine reported an error mid-answer.');
  const choice = chunk.choices?.[0];
  const text = choice?.delta?.content;
  if (text) {
    result.chunks += 1;
    onDelta(text);
  }
  if (choice?.finish_reason) result.finishReason = choice.finish_reason;
  if (typeof chunk.usage?.completion_tokens === 'number') result.completionTokens = chunk.usage.completion_tokens;
}
