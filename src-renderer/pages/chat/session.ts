// The conversation lives outside the page: an answer keeps streaming while you look at Logs.
// One conversation per model: picking another model starts a new one, and keeps the last one so
// it can be continued with the new model instead. No React and no fetch here: the page passes the
// stream (openai.ts), tests a stand-in.
import { createStore } from '../../lib/create-store.js';
import { errorText } from '../../lib/toasts.js';
import type { ChatMessage, StreamChat } from './chat-types.js';

export interface Turn {
  id: number;
  role: 'user' | 'assistant';
  content: string;
  status: 'streaming' | 'done' | 'stopped' | 'error';
  error?: string;
  model?: string;
  /** Send → first token (includes starting the engine when it was stopped); null: none came. */
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

/** The conversation left when another model was picked, which the page offers to continue. */
export interface EarlierConversation {
  model: string;
  turns: readonly Turn[];
}

export const chatTurns = createStore<readonly Turn[]>([]);
export const chatSettings = createStore<ChatSettings>({ model: null, system: '', temperature: 0.7 });
export const earlierConversation = createStore<EarlierConversation | null>(null);

let nextId = 1;
let controller: AbortController | null = null;

export function isStreaming(): boolean {
  return controller !== null;
}

function patchTurn(id: number, patch: Partial<Turn>): void {
  // Every other turn keeps its identity, so the page re-renders only the one that changed.
  chatTurns.set((turns) => turns.map((t) => (t.id === id ? { ...t, ...patch } : t)));
}

/**
 * What the model is sent of the conversation so far: each question with the answer it got (a
 * stopped answer as far as it went); a question that got no answer (an error, stopped before the
 * first token) is left out, so the model never sees two questions in a row.
 */
export function historyOf(turns: readonly Turn[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  turns.forEach((turn, i) => {
    const reply = turns[i + 1];
    if (turn.role !== 'user' || reply?.role !== 'assistant' || reply.content === '') return;
    if (reply.status !== 'done' && reply.status !== 'stopped') return;
    messages.push({ role: 'user', content: turn.content }, { role: 'assistant', content: reply.content });
  });
  return messages;
}

export async function sendMessage(text: string, coldStart: boolean, stream: StreamChat): Promise<void> {
  if (!chatSettings.get().model || controller) return;
  earlierConversation.set(null);
  chatTurns.set((turns) => [...turns, { id: nextId++, role: 'user', content: text, status: 'done' }]);
  await answer(coldStart, stream);
}

/** Answers the last question again (the last answer is replaced), with the model now picked. */
export async function regenerate(coldStart: boolean, stream: StreamChat): Promise<void> {
  const turns = chatTurns.get();
  if (controller || !chatSettings.get().model || turns.at(-1)?.role !== 'assistant' || turns.at(-2)?.role !== 'user') return;
  chatTurns.set(turns.slice(0, -1));
  await answer(coldStart, stream);
}

/** Streams the answer to the last turn (a question). */
async function answer(coldStart: boolean, stream: StreamChat): Promise<void> {
  const { model, system, temperature } = chatSettings.get();
  const turns = chatTurns.get();
  const question = turns.at(-1);
  if (!model || controller || question?.role !== 'user') return;
  const messages: ChatMessage[] = [
    ...(system.trim() ? [{ role: 'system' as const, content: system.trim() }] : []),
    ...historyOf(turns.slice(0, -1)),
    { role: 'user', content: question.content },
  ];
  const answerId = nextId++;
  chatTurns.set((t) => [...t, { id: answerId, role: 'assistant', content: '', status: 'streaming', model, coldStart }]);

  const abort = new AbortController();
  controller = abort;
  const sentAt = performance.now();
  let firstAt: number | null = null;
  let content = '';
  let chunks = 0;
  // Deltas are shown at most once a frame: a fast engine sends several per frame, and each shown
  // one re-renders (and re-parses the Markdown of) the answer.
  let pending: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    pending = null;
    patchTurn(answerId, { content, ttftMs: firstAt === null ? null : firstAt - sentAt });
  };
  try {
    const result = await stream(
      { model, messages, temperature },
      (delta) => {
        firstAt ??= performance.now();
        content += delta;
        chunks += 1;
        pending ??= setTimeout(flush, FRAME_MS);
      },
      abort.signal,
    );
    const end = performance.now();
    patchTurn(answerId, {
      content,
      status: 'done',
      ttftMs: firstAt === null ? null : firstAt - sentAt,
      tokens: result.completionTokens ?? result.chunks,
      genMs: firstAt === null ? 0 : end - firstAt,
    });
  } catch (err) {
    const end = performance.now();
    if (abort.signal.aborted) {
      patchTurn(answerId, { content, status: 'stopped', ttftMs: firstAt === null ? null : firstAt - sentAt, tokens: chunks, genMs: firstAt === null ? 0 : end - firstAt });
    } else {
      patchTurn(answerId, { content, status: 'error', error: errorText(err) });
    }
  } finally {
    if (pending) clearTimeout(pending);
    controller = null;
    chatTurns.set((t) => [...t]); // let the page re-read isStreaming()
  }
}

const FRAME_MS = 16;

export function stopStreaming(): void {
  controller?.abort();
}

export function clearConversation(): void {
  if (controller) return;
  chatTurns.set([]);
  earlierConversation.set(null);
}

/** Picks another model: a new conversation, the current one kept to be continued instead. */
export function switchModel(name: string): void {
  const { model } = chatSettings.get();
  if (controller || name === model) return;
  const turns = chatTurns.get();
  if (model && turns.length > 0) {
    earlierConversation.set({ model, turns });
    chatTurns.set([]);
  }
  chatSettings.set((s) => ({ ...s, model: name }));
}

/** Brings back the conversation left by the last switch, to go on with the model now picked. */
export function continueEarlier(): void {
  const earlier = earlierConversation.get();
  if (controller || !earlier || chatTurns.get().length > 0) return;
  chatTurns.set(earlier.turns);
  earlierConversation.set(null);
}
