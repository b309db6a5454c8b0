// The conversation lives outside the page: an answer keeps streaming while you look at Logs.
import { createStore } from '../../lib/store.js';
import { streamChat, type ChatMessage } from './openai.js';

export interface Turn {
  id: number;
  role: 'user' | 'assistant';
  content: string;
  status: 'streaming' | 'done' | 'stopped' | 'error';
  error?: string;
  model?: string;
  /** Send → first token (includes starting the engine when it was stopped). */
  ttftMs?: number | null;
  tokens?: number;
  /** First token → last token. */
  genMs?: number;
  coldStart?: boolean;
}

export interface ChatSettings {
  model: string | null;
  system: string;
  temperature: number;
}

export const chatTurns = createStore<readonly Turn[]>([]);
export const chatSettings = createStore<ChatSettings>({ model: null, system: '', temperature: 0.7 });

let nextId = 1;
let controller: AbortController | null = null;

export function isStreaming(): boolean {
  return controller !== null;
}

function patchTurn(id: number, patch: Partial<Turn>): void {
  chatTurns.set((turns) => turns.map((t) => (t.id === id ? { ...t, ...patch } : t)));
}

export async function sendMessage(text: string, coldStart: boolean): Promise<void> {
  const { model, system, temperature } = chatSettings.get();
  if (!model || controller) return;
  const history: ChatMessage[] = chatTurns
    .get()
    .filter((t) => t.status === 'done' || t.role === 'user')
    .map((t) => ({ role: t.role, content: t.content }));
  const messages: ChatMessage[] = [...(system.trim() ? [{ role: 'system' as const, content: system.trim() }] : []), ...history, { role: 'user', content: text }];
  const answerId = nextId + 1;
  chatTurns.set((turns) => [
    ...turns,
    { id: nextId, role: 'user', content: text, status: 'done' },
    { id: answerId, role: 'assistant', content: '', status: 'streaming', model, coldStart },
  ]);
  nextId += 2;

  const abort = new AbortController();
  controller = abort;
  const sentAt = performance.now();
  let firstAt: number | null = null;
  let content = '';
  let chunks = 0;
  try {
    const result = await streamChat(
      { model, messages, temperature },
      (delta) => {
        firstAt ??= performance.now();
        content += delta;
        chunks += 1;
        patchTurn(answerId, { content, ttftMs: firstAt - sentAt });
      },
      abort.signal,
    );
    const end = performance.now();
    patchTurn(answerId, {
      status: 'done',
      ttftMs: firstAt === null ? null : firstAt - sentAt,
      tokens: result.completionTokens ?? result.chunks,
      genMs: firstAt === null ? 0 : end - firstAt,
    });
  } catch (err) {
    const end = performance.now();
    if (abort.signal.aborted) {
      patchTurn(answerId, { status: 'stopped', ttftMs: firstAt === null ? null : firstAt - sentAt, tokens: chunks, genMs: firstAt === null ? 0 : end - firstAt });
    } else {
      patchTurn(answerId, { status: 'error', error: err instanceof Error ? err.message : 'The request failed.' });
    }
  } finally {
    controller = null;
    chatTurns.set((t) => [...t]); // let the page re-read isStreaming()
  }
}

export function stopStreaming(): void {
  controller?.abort();
}

export function clearConversation(): void {
  if (controller) return;
  chatTurns.set([]);
}
